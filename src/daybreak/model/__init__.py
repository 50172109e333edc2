"""The domain model. It imports nothing from the rest of Daybreak."""
