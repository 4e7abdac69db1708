"""Training: data loading from window shards, Lightning modules, optimisation, MLflow tracking."""
