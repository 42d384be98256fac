"""Resources per environment; ``modes.py`` merges them into the pipelines' modes."""
