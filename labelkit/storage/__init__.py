"""Where media lives: the local media dir now (S3 joins later), and signed links to it."""
