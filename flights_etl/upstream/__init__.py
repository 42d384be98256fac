"""The upstream simulator (a development tool, not part of the pipeline): lands daily files from the packaged data."""
