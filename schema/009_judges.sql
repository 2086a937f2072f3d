-- Model judges (docs/judges.md): judgments a model gave for a job's items,
-- under the judge's name, beside the people's. They take no lease and no
-- slot: items.claims and items.judged, the exports, the item pages'
-- disagreement and every human figure of the report never see them. One
-- current judgment per item and judge; a new one for the same item
-- replaces it (revision counts the replacements).
--   shown    JSON array: the response indexes in the order the judge saw
--            them (its position bias)
--   token_id the API token that sent it (NULL: a lead's session)
CREATE TABLE judge_judgments (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    judge       TEXT NOT NULL,
    shown       TEXT NOT NULL,
    answers     TEXT NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    token_id    INTEGER REFERENCES api_tokens(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX judge_judgments_item ON judge_judgments(job_id, item_id, judge);
