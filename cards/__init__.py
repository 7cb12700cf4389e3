"""Dataset and judge card templates and their rendering; depends on nothing of the project."""
