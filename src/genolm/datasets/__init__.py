"""Training datasets: the one shard format family (genolm.datasets.shards) and the builders that turn source
tables into shards (genome windows carrying mutations, reference windows, benchmark tasks with their
validation split or fold)."""
