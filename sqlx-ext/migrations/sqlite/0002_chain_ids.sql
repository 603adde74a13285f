-- Audit chains get a random id, bound into every record's MAC, and the
-- head row a tag (HMAC of id, next sequence number and last MAC), so a
-- head moved back or relabelled does not verify. Chains begun before
-- this keep NULL ids and version 1 records.
ALTER TABLE phisafe_audit_head ADD COLUMN chain_id TEXT;
ALTER TABLE phisafe_audit_head ADD COLUMN tag TEXT;
ALTER TABLE phisafe_audit_log ADD COLUMN chain_id TEXT;
