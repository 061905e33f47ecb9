"""Class insight: what a class got wrong, and similar submissions."""
