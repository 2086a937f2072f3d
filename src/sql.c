/* sql.c: the text of every statement named in sql.h. Columns are listed
 * explicitly so readers can rely on their positions. */
#include "sql.h"

#define USER_COLS                                                                                  \
    "id, name, role, password_hash, disabled, must_change_password, created_at, updated_at"
#define JOB_COLS                                                                                   \
    "j.id, j.owner_id, u.name, j.name, j.instructions, j.questions, j.questions_rev,"              \
    " j.overlap, j.lease_seconds, j.randomize_order, j.status, j.created_at, j.updated_at,"        \
    " j.acceptance"
#define TASK_COLS                                                                                  \
    "t.id, t.job_id, t.item_id, t.labeler_id, t.state, t.shown, t.leased_at,"                      \
    " t.expires_at, t.finished_at, t.skip_reason, i.ext_id, i.data"
#define JUDGMENT_COLS                                                                              \
    "g.id, g.task_id, g.job_id, g.item_id, g.labeler_id, g.answers, g.revision,"                   \
    " g.created_at, g.updated_at, t.shown, t.leased_at, i.ext_id, i.response_ids, u.name,"         \
    " g.shown_at, g.active_ms, g.review, g.comment"
/* Which judgments an export takes (?5, enum export_review): 0 all but the
 * rejected, 1 the accepted only, 2 every one. */
#define REVIEW_FILTER                                                                              \
    " AND (?5 = 2 OR (?5 = 0 AND g.review IS NOT 'rejected') OR (?5 = 1 AND g.review = "           \
    "'accepted'))"
/* A revision's comment (?5): NULL keeps it, "" removes it. */
#define COMMENT_OF_5 "CASE WHEN ?5 IS NULL THEN comment WHEN ?5 = '' THEN NULL ELSE ?5 END"
/* The items list (items.c, items_browse): a window of at most ?4 items of
 * job ?1 after the cursor (?2, ?3) in the sort's order, each with its
 * counters, whether it is stuck (fewer members can still take it than it
 * needs: ?5 overlap, ?6 members) and whether it passes the filters (NULL:
 * not filtered): ?7 status, ?8 LIKE pattern over the stored item, ?9 and
 * ?10 substrings of it, ?11 a labeler who judged it, ?12 least
 * disagreement, ?13 has skips, ?14 has flags, ?15 review state. Filters
 * the stored text cannot decide exactly (?8-?10) are checked again in C. */
#define UNTOUCHED "(judged = 0 AND claims = 0 AND skips = 0 AND rejected = 0)"
#define BROWSE_ROW                                                                                 \
    "SELECT x.*, (?7 IS NULL OR CASE ?7 WHEN 'complete' THEN judged >= ?5"                         \
    " WHEN 'untouched' THEN " UNTOUCHED " WHEN 'stuck' THEN stuck"                                 \
    " WHEN 'in_progress' THEN judged < ?5 AND NOT " UNTOUCHED " AND NOT stuck END)"                \
    " AND (?8 IS NULL OR (SELECT data FROM items WHERE id = x.id) LIKE ?8 ESCAPE '^')"             \
    " AND (?9 IS NULL OR instr((SELECT data FROM items WHERE id = x.id), ?9) > 0)"                 \
    " AND (?10 IS NULL OR instr((SELECT data FROM items WHERE id = x.id), ?10) > 0)"               \
    " AND (?11 IS NULL OR EXISTS (SELECT 1 FROM judgments g WHERE g.item_id = x.id"                \
    " AND g.labeler_id = ?11 AND g.review IS NOT 'rejected'))"                                     \
    " AND (?12 IS NULL OR disagreement >= ?12) AND (?13 IS NULL OR (skips > 0) = ?13)"             \
    " AND (?14 IS NULL OR (flags > 0) = ?14)"                                                      \
    " AND (?15 IS NULL OR CASE ?15 WHEN 'pending' THEN judged > accepted"                          \
    " WHEN 'accepted' THEN judged > 0 AND accepted = judged AND rejected = 0"                      \
    " WHEN 'rejected' THEN rejected > 0 END) FROM (SELECT i.id, i.ext_id, i.claims, i.judged,"     \
    " i.skips, i.flags, i.accepted, i.rejected, i.disagreement, i.last_at,"                        \
    " CASE WHEN i.judged < ?5 AND (i.skips > 0 OR i.rejected > 0 OR ?6 < ?5) THEN"                 \
    " (SELECT count(*) FROM job_members m WHERE m.job_id = i.job_id AND NOT EXISTS"                \
    " (SELECT 1 FROM tasks t WHERE t.item_id = i.id AND t.labeler_id = m.user_id"                  \
    " AND t.state != 'expired')) < ?5 - i.claims ELSE 0 END AS stuck FROM "
#define TOKEN_COLS                                                                                 \
    "t.id, t.user_id, u.name, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, "      \
    "t.revoked_at"

/* Reports: the people's judgments of a job after item ?2 (more: the
 * columns after the active time). */
#define REPORT_PEOPLE(more)                                                                        \
    "SELECT g.item_id, g.labeler_id, g.answers, t.shown, coalesce(g.shown_at, t.leased_at),"       \
    " g.created_at, g.active_ms" more "FROM judgments g JOIN tasks t ON t.id = g.task_id"          \
    " WHERE g.job_id = ?1 AND g.item_id > ?2 AND g.review IS NOT 'rejected'"

/* Only the items of job ?1 an import has finished: an import under way
 * inserts its items at ids from jobs.import_from on (010_import_gate.sql).
 * An uncorrelated subquery, so it is evaluated once per statement. The
 * unary + keeps the bound a filter only: as an index range it would lead
 * the planner to items_job(job_id, id) away from the covering index a
 * statement is written for (the job's counts took 283 ms instead of
 * 116 ms on a 1,000,000-item job). */
#define SHOWN(id)                                                                                  \
    " AND +" id " < coalesce((SELECT import_from FROM jobs WHERE id = ?1), 9223372036854775807)"

/* clang-format off: the statements as written, one table */
static const char *const text[SQL__COUNT] = {
    /* The writer's transaction control, prepared once like the rest. */
    [SQL_TX_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_TX_SAVEPOINT] = "SAVEPOINT w",
    [SQL_TX_ROLLBACK_TO] = "ROLLBACK TO w",
    [SQL_TX_RELEASE] = "RELEASE w",
    [SQL_TX_COMMIT] = "COMMIT",
    [SQL_TX_ROLLBACK] = "ROLLBACK",
    [SQL_USER_INSERT] = "INSERT INTO users (name, role, password_hash, must_change_password,"
                        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [SQL_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [SQL_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [SQL_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY id",
    [SQL_USER_COUNT] = "SELECT count(*) FROM users",
    [SQL_USER_COUNT_ACTIVE_ADMINS] =
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
    [SQL_USER_SET_ROLE] = "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, must_change_password = ?3,"
                              " updated_at = ?4 WHERE id = ?1",
    [SQL_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at,"
                           " client_addr) VALUES (?1, ?2, ?3, ?3, ?4)",
    [SQL_SESSION_LOOKUP] =
        "SELECT s.id, s.created_at, s.last_seen_at, u.id, u.name, u.role,"
        " u.disabled, u.must_change_password"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
    [SQL_SESSION_TOUCH] = "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
    [SQL_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [SQL_SESSION_DELETE_USER_EXCEPT] = "DELETE FROM sessions WHERE user_id = ?1 AND id != ?2",
    [SQL_SESSION_PURGE] = "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
    [SQL_TOKEN_INSERT] = "INSERT INTO api_tokens (token_hash, user_id, name, scopes, created_at,"
                         " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_TOKEN_LOOKUP] = "SELECT " TOKEN_COLS ", u.role, u.disabled FROM api_tokens t"
                         " JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
    [SQL_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
    [SQL_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id"
                       " WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id",
    [SQL_TOKEN_BY_ID] = "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id"
                        " WHERE t.id = ?1",
    [SQL_TOKEN_REVOKE] =
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [SQL_AUDIT_INSERT] =
        "INSERT INTO audit_log (at, actor_id, action, subject, client_addr, detail)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_AUDIT_FAILED_BY_SUBJECT] = "SELECT count(*), min(at) FROM audit_log"
                                    " WHERE action = 'login_failed' AND subject = ?1 AND at > ?2",
    [SQL_AUDIT_FAILED_BY_ADDR] = "SELECT count(*), min(at) FROM audit_log"
                                 " WHERE action = 'login_failed' AND client_addr = ?1 AND at > ?2",
    [SQL_SECRET_GET] = "SELECT value FROM secrets WHERE name = ?1",
    [SQL_SECRET_PUT] = "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
    [SQL_JOB_INSERT] =
        "INSERT INTO jobs (owner_id, name, instructions, questions, overlap,"
        " lease_seconds, randomize_order, status, created_at, updated_at, acceptance)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'draft', ?8, ?8, ?9)",
    [SQL_JOB_BY_ID] =
        "SELECT " JOB_COLS " FROM jobs j JOIN users u ON u.id = j.owner_id WHERE j.id = ?1",
    [SQL_JOB_UPDATE] = "UPDATE jobs SET name = ?2, instructions = ?3, questions = ?4,"
                       " questions_rev = ?5, overlap = ?6, lease_seconds = ?7,"
                       " randomize_order = ?8, status = ?9, updated_at = ?10, acceptance = ?11"
                       " WHERE id = ?1",
    [SQL_JOB_LIST_ALL] = "SELECT id FROM jobs ORDER BY id",
    [SQL_JOB_LIST_FOR] = "SELECT id FROM jobs WHERE owner_id = ?1 AND ?2"
                         " UNION SELECT job_id FROM job_members WHERE user_id = ?1 ORDER BY 1",
    /* Covered by items_progress: judged counts the judgments not rejected. */
    [SQL_JOB_ITEM_COUNTS] =
        "SELECT count(*), coalesce(sum(judged >= ?2), 0),"
        " coalesce(sum(judged + rejected), 0), coalesce(sum(min(judged, ?2)), 0)"
        " FROM items WHERE job_id = ?1" SHOWN("id"),
    [SQL_JOB_JUDGMENT_COUNT] = "SELECT EXISTS (SELECT 1 FROM judgments WHERE job_id = ?1)",
    [SQL_JOB_MY_COUNT] = "SELECT count(*) FROM tasks WHERE job_id = ?1 AND labeler_id = ?2"
                         " AND state = 'judged'",
    /* The items not complete that this labeler judged or skipped (from
     * tasks_job_labeler: as many rows as the labeler's tasks). */
    [SQL_JOB_MY_DONE_OPEN] = "SELECT count(*) FROM tasks t JOIN items i ON i.id = t.item_id"
                             " WHERE t.job_id = ?1 AND t.labeler_id = ?2"
                             " AND t.state IN ('judged', 'skipped') AND i.judged < ?3",
    /* A labeler's judgments in a job, newest first, before task ?3. */
    [SQL_JUDGMENT_MINE] =
        "SELECT g.id, t.id, i.ext_id, g.revision, g.created_at, g.updated_at, g.review,"
        " g.comment, i.data FROM tasks t JOIN judgments g ON g.id = t.judgment_id"
        " JOIN items i ON i.id = t.item_id WHERE t.job_id = ?1 AND t.labeler_id = ?2"
        " AND t.state = 'judged' AND t.id < ?3 ORDER BY t.id DESC LIMIT ?4",
    [SQL_JUDGMENT_ANSWERS] = "SELECT answers, revision, created_at, updated_at, shown_at, active_ms"
                             " FROM judgments WHERE id = ?1",
    [SQL_JOB_ITEMS_MISFIT] = "SELECT ext_id FROM items WHERE job_id = ?1" SHOWN(
        "id") " AND (n_responses < ?2 OR n_responses > ?3) LIMIT 1",
    [SQL_JOB_ITEMS_WITHOUT_RESPONSE] = "SELECT ext_id FROM items WHERE job_id = ?1" SHOWN(
        "id") " AND NOT EXISTS"
              " (SELECT 1 FROM json_each(data, '$.responses') r"
              " WHERE json_extract(r.value, '$.id') = ?2) LIMIT 1",
    [SQL_MEMBER_IS] = "SELECT 1 FROM job_members WHERE job_id = ?1 AND user_id = ?2",
    [SQL_MEMBER_DELETE_ALL] = "DELETE FROM job_members WHERE job_id = ?1",
    [SQL_MEMBER_INSERT] =
        "INSERT OR IGNORE INTO job_members (job_id, user_id, added_at) VALUES (?1, ?2, ?3)",
    [SQL_MEMBER_LIST] =
        "SELECT u.id, u.name, u.role FROM job_members m JOIN users u ON u.id = m.user_id"
        " WHERE m.job_id = ?1 ORDER BY u.name",
    [SQL_ITEM_EXISTS] = "SELECT 1 FROM items WHERE job_id = ?1 AND ext_id = ?2" SHOWN("id"),
    [SQL_ITEM_INSERT] =
        "INSERT INTO items (job_id, ext_id, data, n_responses, response_ids, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_ITEM_BY_ID] =
        "SELECT id, job_id, ext_id, data, n_responses, claims, judged FROM items WHERE id = ?1",
    [SQL_ITEM_PAGE] = "SELECT id, job_id, ext_id, data, n_responses, claims, judged FROM items"
                      " WHERE job_id = ?1 AND id > ?2" SHOWN("id") " ORDER BY id LIMIT ?3",
    [SQL_JOB_LEASE_INFO] = "SELECT status, overlap, lease_seconds, randomize_order, questions_rev"
                           " FROM jobs WHERE id = ?1",
    [SQL_TASK_STATE] =
        "SELECT state, labeler_id, item_id, job_id, judgment_id FROM tasks WHERE id = ?1",
    [SQL_TASK_LIVE_FOR] =
        "SELECT id FROM tasks WHERE job_id = ?1 AND labeler_id = ?2"
        " AND state = 'leased' AND expires_at > ?3 AND id != ?4 ORDER BY id LIMIT 1",
    [SQL_TASK_EXPIRED] = "SELECT id, item_id FROM tasks WHERE job_id = ?1 AND state = 'leased'"
                         " AND expires_at <= ?2",
    [SQL_TASK_EXPIRE] = "UPDATE tasks SET state = 'expired' WHERE id = ?1 AND state = 'leased'",
    /* The pool, closest to completion first; never an item this labeler
     * judged, skipped or holds. Walks items_pool from claims = overlap-1. */
    [SQL_TASK_PICK] =
        "SELECT i.id, i.n_responses FROM items i WHERE i.job_id = ?1 AND i.claims < ?2" SHOWN(
            "i.id") " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id"
                    " AND t.labeler_id = ?3 AND t.state != 'expired')"
                    " ORDER BY i.claims DESC, i.id LIMIT 1",
    [SQL_TASK_INSERT] = "INSERT INTO tasks (job_id, item_id, labeler_id, state, shown, leased_at,"
                        " expires_at) VALUES (?1, ?2, ?3, 'leased', ?4, ?5, ?6)",
    [SQL_TASK_BY_ID] =
        "SELECT " TASK_COLS " FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = ?1",
    [SQL_TASK_FINISH] = "UPDATE tasks SET state = ?2, finished_at = ?3, skip_reason = ?4,"
                        " judgment_id = ?5 WHERE id = ?1",
    /* All a submit needs to validate, in one read. */
    [SQL_TASK_CHECK] =
        "SELECT t.labeler_id, t.job_id, t.state, t.shown, t.leased_at, i.ext_id,"
        " i.response_ids, j.questions, j.questions_rev, j.status, t.item_id FROM tasks t"
        " JOIN items i ON i.id = t.item_id JOIN jobs j ON j.id = t.job_id WHERE t.id = ?1",
    [SQL_ITEM_CLAIM] = "UPDATE items SET claims = claims + ?2, judged = judged + ?3 WHERE id = ?1",
    [SQL_ITEM_COUNTS] = "SELECT claims, judged FROM items WHERE id = ?1",
    [SQL_JUDGMENT_NEXT_SEQ] = "SELECT coalesce(max(seq), 0) + 1 FROM judgments WHERE job_id = ?1",
    [SQL_JUDGMENT_INSERT] = "INSERT INTO judgments (task_id, job_id, item_id, labeler_id, answers,"
                            " revision, created_at, updated_at, seq, shown_at, active_ms, comment)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7, ?8, ?9, ?10)",
    [SQL_JUDGMENT_BY_ID] =
        "SELECT " JUDGMENT_COLS " FROM judgments g JOIN tasks t ON t.id = g.task_id"
        " JOIN items i ON i.id = g.item_id JOIN users u ON u.id = g.labeler_id WHERE g.id = ?1",
    [SQL_JUDGMENT_BY_TASK] =
        "SELECT " JUDGMENT_COLS " FROM judgments g JOIN tasks t ON t.id = g.task_id"
        " JOIN items i ON i.id = g.item_id JOIN users u ON u.id = g.labeler_id"
        " WHERE g.id = (SELECT judgment_id FROM tasks WHERE id = ?1)",
    /* A revision is a new judgment to review: its review state resets. */
    [SQL_JUDGMENT_REVISE] =
        "UPDATE judgments SET answers = ?2, revision = revision + 1, updated_at = ?3,"
        " seq = ?4, review = NULL, comment = " COMMENT_OF_5 " WHERE id = ?1",
    /* The comment alone changed: no new revision, but a new seq. */
    [SQL_JUDGMENT_SET_COMMENT] = "UPDATE judgments SET updated_at = ?3, seq = ?4,"
                                 " comment = " COMMENT_OF_5 " WHERE id = ?1",
    [SQL_VERSION_INSERT] =
        "INSERT INTO judgment_versions (judgment_id, revision, answers, submitted_at)"
        " VALUES (?1, ?2, ?3, ?4)",
    [SQL_VERSION_LIST] = "SELECT revision, answers, submitted_at FROM judgment_versions"
                         " WHERE judgment_id = ?1 ORDER BY revision",
    /* Items: total, complete, in progress (a judgment or a live lease),
     * untouched. ?2 overlap, ?3 now (ms). */
    [SQL_STATS_ITEMS] = "WITH live AS (SELECT DISTINCT item_id FROM tasks WHERE job_id = ?1"
                        " AND state = 'leased' AND expires_at > ?3)"
                        " SELECT count(*), coalesce(sum(judged >= ?2), 0),"
                        " coalesce(sum(judged < ?2 AND (judged > 0 OR id IN live)), 0)"
                        " FROM items WHERE job_id = ?1" SHOWN("id"),
    [SQL_STATS_TASKS] =
        "SELECT coalesce(sum(state = 'judged'), 0), coalesce(sum(state = 'skipped'), 0),"
        " coalesce(sum(state = 'leased' AND expires_at > ?2), 0)"
        " FROM tasks WHERE job_id = ?1",
    /* A judged task's time runs from when it was shown, when the page
     * said so (a prefetched lease waits unseen), else from its lease. */
    [SQL_STATS_DURATIONS] = "SELECT t.labeler_id, u.name, t.state,"
                            " t.finished_at - coalesce(g.shown_at, t.leased_at)"
                            " FROM tasks t JOIN users u ON u.id = t.labeler_id"
                            " LEFT JOIN judgments g ON g.id = t.judgment_id"
                            " WHERE t.job_id = ?1 AND t.state IN ('judged', 'skipped')"
                            " ORDER BY t.labeler_id, t.state, 4",
    [SQL_STATS_RECENT] = "SELECT (?2 - created_at) / 60000, count(*) FROM judgments"
                         " WHERE job_id = ?1 AND created_at > ?2 - 3600000 GROUP BY 1",
    /* Exports: a page of judgments in seq order, since < seq <= cursor. */
    [SQL_EXPORT_CURSOR] = "SELECT coalesce(max(seq), 0) FROM judgments WHERE job_id = ?1",
    [SQL_EXPORT_PAGE] = "SELECT g.id, g.seq, g.answers, g.revision, g.created_at, g.updated_at,"
                        " g.labeler_id, t.shown, t.leased_at, i.data, g.shown_at, g.active_ms,"
                        " g.review, g.comment,"
                        " (SELECT json_group_array(kind) FROM flags f WHERE f.task_id = g.task_id)"
                        " FROM judgments g"
                        " JOIN tasks t ON t.id = g.task_id JOIN items i ON i.id = g.item_id"
                        " WHERE g.job_id = ?1 AND g.seq > ?2 AND g.seq <= ?3" REVIEW_FILTER
                        " ORDER BY g.seq LIMIT ?4",
    /* aggregate=majority, dawid-skene: the judgments of items after ?2, by item. */
    [SQL_EXPORT_ITEMS_PAGE] =
        "SELECT g.item_id, g.seq, g.answers, i.data, g.labeler_id FROM judgments g"
        " JOIN items i ON i.id = g.item_id WHERE g.job_id = ?1"
        " AND g.item_id > ?2 AND g.seq <= ?3" REVIEW_FILTER " ORDER BY g.item_id LIMIT ?4",
    /* Reports: a job's judgments item by item, after item ?2. */
    [SQL_REPORT_PAGE] = REPORT_PEOPLE(" ") " ORDER BY g.item_id LIMIT ?3",
    /* The item's text, read once per item rather than once per judgment. */
    [SQL_REPORT_ITEM] = "SELECT data FROM items WHERE id = ?1",
    /* What a review checks and changes, in one read. */
    [SQL_REVIEW_TARGET] =
        "SELECT g.job_id, g.item_id, g.labeler_id, g.revision, g.review, j.status,"
        " j.overlap FROM judgments g JOIN jobs j ON j.id = g.job_id WHERE g.id = ?1",
    [SQL_REVIEW_INSERT] =
        "INSERT INTO reviews (judgment_id, reviewer_id, decision, reason, revision,"
        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_REVIEW_LIST] =
        "SELECT r.decision, r.reason, r.revision, r.created_at, u.name FROM reviews r"
        " JOIN users u ON u.id = r.reviewer_id WHERE r.judgment_id = ?1 ORDER BY r.id",
    [SQL_JUDGMENT_SET_REVIEW] = "UPDATE judgments SET review = ?2, seq = ?3 WHERE id = ?1",
    /* A rejected judgment accepted again takes its slot back, if free. */
    [SQL_ITEM_RECLAIM] = "UPDATE items SET claims = claims + 1, judged = judged + 1"
                         " WHERE id = ?1 AND claims < ?2",
    /* A labeler's judgments in a job not rejected yet, and live leases. */
    [SQL_REVIEW_OF_LABELER] = "SELECT id FROM judgments WHERE job_id = ?1 AND labeler_id = ?2"
                              " AND review IS NOT 'rejected' ORDER BY id",
    [SQL_TASK_LIVE_OF_LABELER] =
        "SELECT id, item_id FROM tasks WHERE job_id = ?1 AND labeler_id = ?2"
        " AND state = 'leased'",
    [SQL_MEMBER_DELETE] = "DELETE FROM job_members WHERE job_id = ?1 AND user_id = ?2",
    /* One item, for its page: by its imported id, with its judgments,
     * skips (and their reasons) and live leases. */
    [SQL_ITEM_BY_EXT] = "SELECT id, job_id, ext_id, data, n_responses, claims, judged FROM items"
                        " WHERE job_id = ?1 AND ext_id = ?2" SHOWN("id"),
    [SQL_ITEM_JUDGMENTS] = "SELECT id FROM judgments WHERE item_id = ?1 ORDER BY id",
    [SQL_ITEM_SKIPS] =
        "SELECT t.id, u.name, t.skip_reason, t.finished_at, t.state = 'expired'"
        " FROM tasks t JOIN users u ON u.id = t.labeler_id WHERE t.item_id = ?1"
        " AND (t.state = 'skipped' OR (t.state = 'expired' AND t.skip_reason IS NOT NULL))"
        " ORDER BY t.id",
    [SQL_ITEM_LEASES] = "SELECT t.id, u.name, t.leased_at, t.expires_at FROM tasks t"
                        " JOIN users u ON u.id = t.labeler_id WHERE t.item_id = ?1"
                        " AND t.state = 'leased' AND t.expires_at > ?2 ORDER BY t.id",
    [SQL_FLAG_INSERT] =
        "INSERT INTO flags (job_id, item_id, task_id, labeler_id, kind, note, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (task_id, kind) DO NOTHING",
    [SQL_FLAG_OF_TASK] = "SELECT kind, note, created_at FROM flags WHERE task_id = ?1 ORDER BY id",
    [SQL_ITEM_FLAGS] = "SELECT f.task_id, u.name, f.kind, f.note, f.created_at FROM flags f"
                       " JOIN users u ON u.id = f.labeler_id WHERE f.item_id = ?1 ORDER BY f.id",
    [SQL_REPORT_SKIPS] = "SELECT t.labeler_id, i.data FROM tasks t JOIN items i ON i.id = t.item_id"
                         " WHERE t.job_id = ?1 AND t.state = 'skipped'",
    [SQL_ITEM_REFRESH_READ] = "SELECT i.response_ids, j.questions FROM items i JOIN jobs j"
                              " ON j.id = i.job_id WHERE i.id = ?1",
    [SQL_ITEM_COUNTED_ANSWERS] = "SELECT answers FROM judgments WHERE item_id = ?1"
                                 " AND review IS NOT 'rejected' ORDER BY id",
    /* ?3: whether ?4 is the new disagreement (NULL: none). */
    [SQL_ITEM_REFRESH] =
        "UPDATE items SET"
        " skips = (SELECT count(*) FROM tasks WHERE item_id = ?1 AND state = 'skipped'),"
        " flags = (SELECT count(*) FROM flags WHERE item_id = ?1),"
        " accepted = (SELECT count(*) FROM judgments WHERE item_id = ?1 AND review = 'accepted'),"
        " rejected = (SELECT count(*) FROM judgments WHERE item_id = ?1 AND review = 'rejected'),"
        " disagreement = CASE WHEN ?3 THEN ?4 ELSE disagreement END,"
        " last_at = max(coalesce(last_at, 0), ?2) WHERE id = ?1",
    /* Items whose disagreement is still to be computed (008_browse.sql). */
    [SQL_ITEM_STALE] = "SELECT id FROM items WHERE disagreement < 0 LIMIT 1000",
    [SQL_ITEM_BROWSE_ID] = BROWSE_ROW "(SELECT id FROM items WHERE job_id = ?1 AND id > ?3" SHOWN(
        "id") " ORDER BY id LIMIT ?4) w JOIN items i ON i.id = w.id) x ORDER BY x.id",
    [SQL_ITEM_BROWSE_DISAGREEMENT] = BROWSE_ROW "(SELECT id FROM items WHERE job_id = ?1" SHOWN(
        "id") " AND disagreement IS NOT NULL AND (disagreement, id) < (?2, ?3)"
              " ORDER BY disagreement DESC, id DESC LIMIT ?4) w"
              " JOIN items i ON i.id = w.id) x ORDER BY x.disagreement DESC, x.id DESC",
    [SQL_ITEM_BROWSE_ACTIVITY] = BROWSE_ROW "(SELECT id FROM items WHERE job_id = ?1" SHOWN(
        "id") " AND last_at IS NOT NULL AND (last_at, id) < (?2, ?3)"
              " ORDER BY last_at DESC, id DESC LIMIT ?4) w"
              " JOIN items i ON i.id = w.id) x ORDER BY x.last_at DESC, x.id DESC",
    /* Members who can still take item ?2: no judgment, skip or lease of it. */
    [SQL_ITEM_CANDIDATES] =
        "SELECT count(*) FROM job_members m WHERE m.job_id = ?1 AND NOT EXISTS"
        " (SELECT 1 FROM tasks t WHERE t.item_id = ?2 AND t.labeler_id = m.user_id"
        " AND t.state != 'expired')",
    /* Released skips end like expired leases (their labelers may take the
     * item again); the reason stays, and an empty one marks a skip. */
    [SQL_ITEM_RELEASE_SKIPS] =
        "UPDATE tasks SET state = 'expired', skip_reason = coalesce(skip_reason, '')"
        " WHERE item_id = ?1 AND state = 'skipped'",
    [SQL_ITEM_ID_BY_EXT] = "SELECT id FROM items WHERE job_id = ?1 AND ext_id = ?2" SHOWN("id"),
    [SQL_MEMBER_COUNT] = "SELECT count(*) FROM job_members WHERE job_id = ?1",
    /* Model judges (009_judges.sql). */
    [SQL_JUDGE_FIND] = "SELECT id, shown, answers FROM judge_judgments"
                       " WHERE job_id = ?1 AND item_id = ?2 AND judge = ?3",
    [SQL_JUDGE_INSERT] =
        "INSERT INTO judge_judgments (job_id, item_id, judge, shown, answers, user_id,"
        " token_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    [SQL_JUDGE_UPDATE] =
        "UPDATE judge_judgments SET shown = ?2, answers = ?3, revision = revision + 1,"
        " user_id = ?4, token_id = ?5, updated_at = ?6 WHERE id = ?1",
    [SQL_JUDGE_LIST] =
        "SELECT judge, count(*), min(created_at), max(updated_at) FROM judge_judgments"
        " WHERE job_id = ?1 GROUP BY judge ORDER BY judge",
    [SQL_JUDGE_ANY] = "SELECT EXISTS (SELECT 1 FROM judge_judgments WHERE job_id = ?1)",
    [SQL_JUDGE_OF_ITEM] = "SELECT judge, shown, answers, revision, created_at, updated_at"
                          " FROM judge_judgments WHERE item_id = ?1 ORDER BY judge",
    /* Reports of jobs with judges: the people's judgments and the judges'
     * (column 7: the judge; NULL for a person's), item by item. */
    [SQL_REPORT_PAGE_JUDGES] =
        REPORT_PEOPLE(", NULL ") " UNION ALL SELECT x.item_id, 0, x.answers, x.shown, x.updated_at,"
                                 " x.updated_at, NULL, x.judge FROM judge_judgments x"
                                 " WHERE x.job_id = ?1 AND x.item_id > ?2 ORDER BY 1 LIMIT ?3",
    /* Imports in steps (010_import_gate.sql). The gate opens at the next
     * id an insert takes; held by another import, it changes no row. */
    [SQL_IMPORT_BEGIN] =
        "UPDATE jobs SET import_from = (SELECT coalesce(max(id), 0) + 1 FROM items)"
        " WHERE id = ?1 AND import_from IS NULL",
    [SQL_IMPORT_GATE] = "SELECT import_from FROM jobs WHERE id = ?1",
    [SQL_IMPORT_END] = "UPDATE jobs SET import_from = NULL WHERE id = ?1 AND import_from = ?2",
    [SQL_IMPORT_DISCARD] = "DELETE FROM items WHERE id IN (SELECT id FROM items"
                           " WHERE job_id = ?1 AND id >= ?2 ORDER BY id LIMIT ?3)",
    [SQL_IMPORT_UNFINISHED] = "SELECT id, import_from FROM jobs WHERE import_from IS NOT NULL",
};
/* clang-format on */

const char *sql_text(enum sql_id id)
{
    return text[id];
}
