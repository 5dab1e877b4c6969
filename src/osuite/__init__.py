"""O·S suite: cooperating programs that run shops, restaurants and venues."""

__version__ = "0.1.0"
