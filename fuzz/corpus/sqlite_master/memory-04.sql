CREATE TABLE memory_entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ttl INTEGER,
  created_at TEXT NOT NULL, expires_at TEXT, PRIMARY KEY (namespace, key))