/* api.h: the request handlers named in the route table (server.c). Each
 * runs after the dispatcher has authenticated the caller, checked role,
 * scope, CSRF and body, and answers with reply_* (server.h). */
#ifndef ARBITER_API_H
#define ARBITER_API_H

#include "server.h"

/* api_session.c */
void api_session_create(struct req *r);
void api_session_delete(struct req *r);
void api_me(struct req *r);
void api_me_password(struct req *r);

/* api_users.c */
void api_users_list(struct req *r);
void api_users_create(struct req *r);
void api_users_update(struct req *r);

/* api_tokens.c */
void api_tokens_list(struct req *r);
void api_tokens_create(struct req *r);
void api_tokens_delete(struct req *r);

/* api_jobs.c */
void api_jobs_list(struct req *r);
void api_jobs_create(struct req *r);
void api_jobs_get(struct req *r);
void api_jobs_update(struct req *r);
void api_jobs_members_get(struct req *r);
void api_jobs_members_put(struct req *r);
void api_jobs_stats(struct req *r);
void api_jobs_labeler_reject(struct req *r);
void api_markdown(struct req *r);

/* api_items.c */
void api_items_import(struct req *r);
void api_items_list(struct req *r);
void api_items_get(struct req *r);
void api_items_release(struct req *r);

/* api_export.c */
void api_jobs_export(struct req *r);
void api_jobs_report(struct req *r);

/* api_judges.c */
void api_judges_submit(struct req *r);
void api_judges_list(struct req *r);

/* api_tasks.c */
void api_tasks_next(struct req *r);
void api_tasks_get(struct req *r);
void api_tasks_judgment(struct req *r);
void api_tasks_skip(struct req *r);
void api_tasks_flag(struct req *r);
void api_judgments_get(struct req *r);
void api_judgments_revise(struct req *r);
void api_judgments_review(struct req *r);
void api_judgments_mine(struct req *r);

/* api_pages.c: HTML pages and the assets they load */
void api_page_home(struct req *r);
void api_page_login(struct req *r);
void api_page_label(struct req *r);
void api_page_job(struct req *r);
void api_page_report(struct req *r);
void api_page_items(struct req *r);
void api_page_tokens(struct req *r);
void api_page_users(struct req *r);
void api_asset(struct req *r);

/* Loads the job of the path (r->id[0]) on c into *j; 0, or replies (404
 * for a job the caller may not see, 403 for a member when manage is set)
 * and returns -1. Free *j with job_free_fields. */
/* Whether the query asks for rendered Markdown (?html=1; api_tasks.c). */
int api_want_html(struct req *r);

/* Splits the query string into (at most 16) decoded names and values; their
 * count, or -1 after a 422 (api_export.c). */
int api_query_params(struct req *r, char names[16][64], char values[16][256]);

struct job;
int api_job_load(struct req *r, struct db_conn *c, int manage, struct job *j);

struct problems;
/* Answers a write that failed: 422 with every problem (the first in the
 * message and field) when rc is ERR_INVALID with problems, else rc's status
 * with not_found (ERR_NOT_FOUND) or why. Takes pr's list. */
void api_reply_problems(struct req *r, int rc, struct problems *pr, const char *why,
                        const char *not_found);

/* JSON for a user (new reference); shared by the session and users APIs. */
json_t *api_user_json(int64_t id, const char *name, enum role role, int disabled,
                      int must_change_password, int64_t created_at);

#endif
