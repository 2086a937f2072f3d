-- Exports with aggregate=majority read a job's judgments item by item.
CREATE INDEX judgments_job_item ON judgments(job_id, item_id, seq);
