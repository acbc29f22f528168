"""Resources: where data lives (landing zone, Delta lake) and how it is read and written."""
