"""What is known about a run beyond its status: which process executes it, and whether that process lives."""
