"""The domain model. It imports nothing from the rest of Daybreak."""

# The organisation of a deployment that has one (and of every row stored before
# migration 0005). Here, not in the store, so that faces can name it without loading it.
DEFAULT_ORG = "default"
