CREATE TABLE task_trajectories (id TEXT PRIMARY KEY, task_type TEXT NOT NULL,
  execution_data TEXT NOT NULL, outcome TEXT NOT NULL, execution_time_ms INTEGER, created_at TEXT NOT NULL)