-- A nasforge 0.1.0 store (schema version 1), written by the code of commit 127c02b (PYTHONPATH set to a
-- checkout of it): the toy study 'old' of tests/fakes.py, random strategy, seed 4, whose evaluator adds a
-- 'flops' metric; 3 COMPLETE trials and one RUNNING trial left by a dead driver; dumped with iterdump().
BEGIN TRANSACTION;
CREATE TABLE leases (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id),
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    heartbeat REAL NOT NULL
);
CREATE TABLE nasforge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "nasforge_meta" VALUES('schema_version','1');
CREATE TABLE studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    created REAL NOT NULL
);
INSERT INTO "studies" VALUES(1,'old','{"budget": {"n_trials": 3}, "direction": "maximize", "evaluator": {"fail_all": false, "fail_x": [], "name": "toy", "sleep": 0.0}, "objective": "valid_acc", "seed": 4, "space": {"name": "toy", "width": 10}, "strategy": {"name": "random"}, "task": {"name": "toy-task"}}',1.79619336392444682126e+09);
CREATE TABLE trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    genotype TEXT NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    value REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    budget REAL,
    parent INTEGER,
    seed INTEGER,
    error TEXT,
    traceback TEXT,
    started REAL,
    completed REAL,
    checkpoint TEXT,
    intermediate TEXT NOT NULL DEFAULT '[]',
    info TEXT NOT NULL DEFAULT '{}',
    seq INTEGER,
    attempt INTEGER NOT NULL DEFAULT 1,
    retry_of INTEGER,
    requeued INTEGER NOT NULL DEFAULT 0,
    UNIQUE (study_id, number)
);
INSERT INTO "trials" VALUES(1,1,0,'{"genes": {"x": 7, "y": 9}, "space": "toy"}','2b5e8182bf433598','COMPLETE',8.20000000000000062172e-01,'{"flops": 1079, "params": 79, "seed": 1490961094, "test_acc": 0.81, "valid_acc": 0.8200000000000001}',NULL,NULL,1490961094,NULL,NULL,1.7961933639351940155e+09,1.79619336393527197831e+09,NULL,'[[1.0, {"valid_acc": 0.41000000000000003}]]','{}',0,1,NULL,0);
INSERT INTO "trials" VALUES(2,1,1,'{"genes": {"x": 4, "y": 9}, "space": "toy"}','1803678ea4e98ccf','COMPLETE',0.775,'{"flops": 1049, "params": 49, "seed": 423447356, "test_acc": 0.765, "valid_acc": 0.775}',NULL,NULL,423447356,NULL,NULL,1.79619336393737697604e+09,1.79619336393742585187e+09,NULL,'[[1.0, {"valid_acc": 0.3875}]]','{}',1,1,NULL,0);
INSERT INTO "trials" VALUES(3,1,2,'{"genes": {"x": 2, "y": 6}, "space": "toy"}','9689f5b502f3faf9','COMPLETE',0.83,'{"flops": 1026, "params": 26, "seed": 735506798, "test_acc": 0.82, "valid_acc": 0.83}',NULL,NULL,735506798,NULL,NULL,1.79619336393995475764e+09,1.79619336393999385831e+09,NULL,'[[1.0, {"valid_acc": 0.415}]]','{}',2,1,NULL,0);
INSERT INTO "trials" VALUES(4,1,3,'{"genes": {"x": 3, "y": 2}, "space": "toy"}','x','RUNNING',NULL,'{}',NULL,NULL,7,NULL,NULL,1.79619336394509387013e+09,NULL,NULL,'[]','{}',NULL,1,NULL,0);
CREATE INDEX trials_by_seq ON trials (study_id, seq);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('studies',1);
INSERT INTO "sqlite_sequence" VALUES('trials',4);
COMMIT;
