CREATE TABLE patterns (id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL,
  confidence REAL NOT NULL DEFAULT 0.5, usage_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, last_used TEXT)