"""Pure building blocks (parsing, hashing, landing, validation, export), free of Dagster."""
