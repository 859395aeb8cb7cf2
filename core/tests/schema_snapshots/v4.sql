-- Schema version 4: entries of other devices that the server refused. They keep
-- their place in their chain (so the entries after them still link) but are left
-- out of the visit, as on the server.

ALTER TABLE visit_log ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
