"""Throwaway servers and a production-shaped deployment on one machine, for trying it and for tests."""
