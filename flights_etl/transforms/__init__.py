"""Pure pandas transformations: frames in, frames out, no I/O and no Dagster."""
