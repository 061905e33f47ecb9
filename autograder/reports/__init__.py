"""What instructors and students read after grading: HTML feedback and the CSV export."""
