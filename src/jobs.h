/* jobs.h: jobs and their questions. A job is made by a lead: a name,
 * Markdown instructions, an ordered list of questions, how many labelers
 * judge each item (overlap), how long a task is leased, whether responses
 * are shown in random order, its members and its status
 * (draft -> open <-> paused -> closed).
 *
 * Job configurations and answers are untrusted input: job_config_parse and
 * job_answers_check validate them completely, naming every problem by field
 * path, and produce or accept only the typed structs below. */
#ifndef ARBITER_JOBS_H
#define ARBITER_JOBS_H

#include "auth.h"
#include "db.h"
#include "valid.h"

#include <jansson.h>
#include <stdint.h>

#define JOB_NAME_MAX 200
#define JOB_INSTRUCTIONS_MAX 100000
#define JOB_QUESTIONS_MAX 20
#define JOB_OVERLAP_MAX 20
#define JOB_LEASE_MIN 2
#define JOB_LEASE_MAX 86400
#define QUESTION_NAME_MAX 64
/* A question's title: what labelers read ("Which response is better?");
 * the name stays the answer's key. */
#define QUESTION_TITLE_MAX 300
#define LABELS_MAX 50

enum qtype { Q_PAIRWISE, Q_RANK, Q_RATING, Q_TEXT, Q_LABELS };
enum prefill { PREFILL_NONE, PREFILL_RESPONSE, PREFILL_BEST };
enum job_status { JOB_DRAFT, JOB_OPEN, JOB_PAUSED, JOB_CLOSED };

struct question {
    char name[QUESTION_NAME_MAX + 1];
    enum qtype type;
    int required;
    char *title; /* owned; NULL when none (labelers see the name) */
    char *help;  /* owned; NULL when none */
    /* pairwise */
    int allow_tie, allow_both_bad;
    int strength; /* 0: off, else the strongest level (1..3) */
    /* rank */
    int allow_ties;
    /* rating */
    int thumbs;           /* the scale is thumbs up/down */
    int min, max;         /* numeric scale */
    json_t *scale_labels; /* owned; {"1": "useless", ...} or NULL */
    int per_response;
    /* text */
    enum prefill prefill;
    char prefill_id[65]; /* PREFILL_RESPONSE */
    int min_chars, max_chars;
    /* labels */
    char **options; /* owned */
    int n_options;
    int multiple;
};

/* A job's configuration, as created or patched. */
struct job_config {
    char *name;                 /* owned */
    char *instructions;         /* owned, Markdown */
    struct question *questions; /* owned */
    int n_questions;
    int overlap, lease_seconds, randomize_order;
    json_t *acceptance; /* owned; the normalised rule, or NULL */
};

/* A stored job. */
struct job {
    int64_t id, owner_id;
    char owner[AUTH_NAME_MAX + 1];
    enum job_status status;
    int64_t questions_rev;
    int64_t created_at, updated_at;
    struct job_config cfg;
};

/* Parses a whole job configuration (the body of POST /api/v1/jobs) into
 * cfg, with defaults for what is absent. Every problem goes to *pr;
 * returns 0 or ERR_INVALID. cfg is freed with job_config_clear either way. */
int job_config_parse(json_t *obj, struct job_config *cfg, struct problems *pr);

/* Parses a questions array alone (as stored, or from a PATCH). */
int job_questions_parse(json_t *arr, struct job_config *cfg, struct problems *pr);
/* Frees what one question owns (questions.c). */
void job_question_clear(struct question *q);
void job_config_clear(struct job_config *cfg);
void job_free_fields(struct job *j);

/* The normalised JSON of questions (new reference), as stored and shown. */
json_t *job_questions_json(const struct job_config *cfg);

const char *job_status_name(enum job_status s);
int job_status_parse(const char *s, enum job_status *out);
const char *job_qtype_name(enum qtype t);

/* Checks a submission's answers {"<question>": value} against questions
 * for an item whose responses have ids resp_ids[0..n_resp). Every problem
 * goes to *pr with a field path like "answers.better.winner"; returns 0 or
 * ERR_INVALID. prefix is the path prefix ("answers"). partial: missing
 * required answers are allowed (gold answers). Pure; thread-safe. */
int job_answers_check(const struct job_config *cfg, json_t *answers, const char *const *resp_ids,
                      int n_resp, int partial, const char *prefix, struct problems *pr);

/* How much the judgments of one item disagree, from 0 (all alike) to 1:
 * per question (text questions aside), the mean distance over pairs of
 * judgments that answered it (pairwise: other winner; rank: Kendall
 * distance, a tie against an order counting half; rating: the score
 * difference over the scale's width, per response; labels: 1 - Jaccard),
 * averaged over the questions. -1 when no question has two answers.
 * answers[0..n) are valid answers for responses resp_ids[0..n_resp).
 * Pure; thread-safe (questions.c). */
double job_answers_disagreement(const struct job_config *cfg, json_t *const *answers, int n,
                                const char *const *resp_ids, int n_resp);

/* Loads job id on c (with owner name). 0, ERR_NOT_FOUND, ERR_DB. The job
 * is freed with job_free_fields. */
int job_load(struct db_conn *c, int64_t id, struct job *out);

/* What the labeling loop checks of a job inside each of its writes. */
struct job_state {
    enum job_status status;
    int overlap, lease_seconds, randomize_order;
    int64_t questions_rev;
};

/* Reads job id's state on c. 0, ERR_NOT_FOUND, ERR_DB. */
int job_state_load(struct db_conn *c, int64_t id, struct job_state *out);

/* Who may do what with a job: view (owner, admin, members), manage
 * (owner, admin). */
int job_can_manage(const struct job *j, const struct principal *p);
int job_is_member(struct db_conn *c, int64_t job_id, int64_t user_id);

/* Creates a draft job owned by owner_id from cfg. *id set. */
int job_create(struct db *db, const struct job_config *cfg, int64_t owner_id, int64_t actor_id,
               const char *addr, int64_t *id);

/* Applies a PATCH body (name, instructions, questions, overlap,
 * lease_seconds, randomize_order, status), all in one write: status moves
 * along draft -> open <-> paused -> closed (and open -> closed). Validation problems go to *pr
 * (ERR_INVALID); ERR_CONFLICT with *why for a refused change (questions
 * after a judgment, a status move that is not allowed, opening an empty
 * job, items that do not fit new questions). */
int job_update(struct db *db, int64_t id, json_t *body, int64_t actor_id, const char *addr,
               struct problems *pr, const char **why);

/* Replaces the members with the users named in names (strings) or given by
 * id (integers). Unknown or disabled users are problems (ERR_INVALID). */
int job_set_members(struct db *db, int64_t id, json_t *members, int64_t actor_id, const char *addr,
                    struct problems *pr);

/* Members as [{"id", "name", "role"}] (new reference), or NULL on error. */
json_t *job_members_json(struct db_conn *c, int64_t job_id);

/* Job ids visible to p: all (admin), owned (lead) plus those p is a
 * member of. *out freed with free(). */
int job_list_ids(struct db_conn *c, const struct principal *p, int64_t **out, size_t *n);

/* The JSON of a job for p (new reference): configuration, rendered
 * instructions, status, counts; members only for those who manage it. */
json_t *job_json(struct db_conn *c, const struct job *j, const struct principal *p);

/* Renders Markdown to HTML with CommonMark; raw HTML and unsafe links are
 * dropped. Returns a malloc'd string or NULL. */
char *job_render_markdown(const char *md);

#endif
