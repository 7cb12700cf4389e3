"""`dataigm report`: one self-contained HTML page for releases, judges and evaluation runs."""
