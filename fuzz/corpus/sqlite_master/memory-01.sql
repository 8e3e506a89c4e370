CREATE TABLE pattern_embeddings (pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL,
  dimension INTEGER NOT NULL, created_at TEXT NOT NULL,
  FOREIGN KEY (pattern_id) REFERENCES patterns(id) ON DELETE CASCADE)