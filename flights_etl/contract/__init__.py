"""The input contract of the daily landing files: where they are, their columns, how they are validated."""
