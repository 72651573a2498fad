"""The prompt templates a model is given, shipped in the package as `assistant.prompts`."""
