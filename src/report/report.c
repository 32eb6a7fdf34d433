/* report.c — `llm4hep report`: success by model and step over the final
 * rows of one or more results files, with Wilson intervals, mean
 * iterations, calls, tokens, cost and wall time; infrastructure outcomes
 * apart; pass@k and pass^k; paired comparisons of models with the exact
 * McNemar test. Printed as a table, markdown or JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

enum { DIM_MODEL, DIM_SUPERVISOR, DIM_CODER, DIM_STEP, DIM_FILE, N_DIMS };
static const char *const dim_names[N_DIMS] = {"model", "supervisor", "coder", "step", "file"};

/* Sums over a group of final rows. */
typedef struct agg {
    int64_t n, k;                  /* counted tasks, successes among them */
    int64_t infra;                 /* infrastructure rows (apart unless --include-infra) */
    int64_t status[L4H_STATUS_COUNT]; /* final rows by status, every status */
    int64_t iterations, api_calls, pt, ct;
    double cost;                   /* sum of known costs */
    int64_t cost_unknown;          /* counted rows with NaN cost */
    double wall;
} agg;

/* What the report computes before printing. */
typedef struct report {
    const l4h_report_opts *o;
    rowset rs;
    int dims[2];
    size_t n_dims;
    char **vals[N_DIMS];           /* interned values per dimension */
    size_t n_vals[N_DIMS];
    size_t *row_val[N_DIMS];       /* per row: its value index per dimension */
    agg *cells, *tot1, *tot2, all; /* [v1*n2+v2], [v1], [v2] */
    /* pass@k by model x step */
    agg *ms;                       /* [model * n_steps + step] */
    int64_t kmax;
    /* comparisons */
    size_t n_cmp;
    struct cmp {
        size_t a, b;
        int64_t shared, both, only_a, only_b, neither, na_k, nb_k;
        double p, p_holm;
    } *cmp;
} report;

static int dim_parse(const char *name)
{
    for (int d = 0; d < N_DIMS; d++)
        if (strcmp(name, dim_names[d]) == 0)
            return d;
    return -1;
}

/* --by "a[,b]" into r->dims. -1 (code 2) naming the flag. */
static int parse_by(report *r, const char *by, l4h_err *err)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", by ? by : "model,step");
    r->n_dims = 0;
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int d = dim_parse(tok);
        if (d < 0 || r->n_dims == 2 || (r->n_dims == 1 && r->dims[0] == d))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "--by %s: expected one or two of model, supervisor, coder, step, "
                               "file, comma-separated (e.g. --by model,step)", by);
        r->dims[r->n_dims++] = d;
    }
    if (r->n_dims == 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "--by: expected e.g. model,step");
    return 0;
}

static void agg_add(agg *a, const l4h_task_rec *t, int include_infra)
{
    int infra = l4h_status_is_infra(t->status);
    if ((int)t->status >= 0 && t->status < L4H_STATUS_COUNT)
        a->status[t->status]++;
    if (infra) {
        a->infra++;
        if (!include_infra)
            return;
    }
    a->n++;
    a->k += t->success ? 1 : 0;
    a->iterations += t->iterations;
    a->api_calls += t->api_calls;
    a->pt = l4h_add_sat_i64(a->pt, t->prompt_tokens); /* a damaged file's counts saturate */
    a->ct = l4h_add_sat_i64(a->ct, t->completion_tokens);
    if (isnan(t->cost_usd))
        a->cost_unknown++;
    else
        a->cost += t->cost_usd;
    a->wall += t->wall_s;
}

static const char *file_label(const report *r, size_t f)
{
    return r->rs.files[f]->path;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Model names in alphabetical order (steps keep the order they first
 * appear in, the plan's; files the command line's): remap the rows. */
static void sort_dim(report *r, int d)
{
    size_t n = r->n_vals[d];
    char **sorted = l4h_xmalloc((n ? n : 1) * sizeof *sorted);
    if (n)
        memcpy(sorted, r->vals[d], n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, str_cmp);
    size_t *map = l4h_xmalloc((n ? n : 1) * sizeof *map);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (sorted[j] == r->vals[d][i])
                map[i] = j;
    for (size_t i = 0; i < r->rs.n_rows; i++)
        r->row_val[d][i] = map[r->row_val[d][i]];
    free(r->vals[d]);
    r->vals[d] = sorted;
    free(map);
}

/* Number of input series of a file (1 unless a resume accepted changed
 * inputs: sweep --accept-changed-inputs). */
static int file_series(const l4h_results *res)
{
    int max = 1;
    for (size_t i = 0; i < res->n_runs; i++)
        if (res->run_series[i] > max)
            max = res->run_series[i];
    return max;
}

/* The input series of row i, or 0 when its file has only one. */
static int row_series(const report *r, size_t i)
{
    const l4h_results *res = r->rs.files[r->rs.row_file[i]];
    int run = r->rs.rows[i]->run;
    if (file_series(res) < 2 || run < 1 || (size_t)run > res->n_runs)
        return 0;
    return res->run_series[run - 1];
}

/* Per-row dimension values, interned. Rows measured with different inputs
 * (a file with several input series) are never pooled: their model and file
 * labels name the series ("m/one [input series 2]"). */
static void index_rows(report *r)
{
    char label[360], model[300], file[4200];
    for (int d = 0; d < N_DIMS; d++)
        r->row_val[d] = l4h_xcalloc(r->rs.n_rows ? r->rs.n_rows : 1, sizeof(size_t));
    for (size_t i = 0; i < r->rs.n_rows; i++) {
        const l4h_task_rec *t = r->rs.rows[i];
        report_model_label(t->supervisor, t->coder, model, sizeof model);
        int series = row_series(r, i);
        if (series) {
            snprintf(label, sizeof label, "%s [input series %d]", model, series);
            snprintf(file, sizeof file, "%s [input series %d]", file_label(r, r->rs.row_file[i]),
                     series);
        } else {
            snprintf(label, sizeof label, "%s", model);
            snprintf(file, sizeof file, "%s", file_label(r, r->rs.row_file[i]));
        }
        const char *v[N_DIMS] = {label, t->supervisor, t->coder, t->step, file};
        for (int d = 0; d < N_DIMS; d++) {
            /* rows of one model come in runs: check the last value first */
            size_t last = i ? r->row_val[d][i - 1] : 0;
            if (i && strcmp(r->vals[d][last], v[d]) == 0)
                r->row_val[d][i] = last;
            else
                r->row_val[d][i] = report_intern(&r->vals[d], &r->n_vals[d], v[d]);
        }
    }
    sort_dim(r, DIM_MODEL);
    sort_dim(r, DIM_SUPERVISOR);
    sort_dim(r, DIM_CODER);
}

/* Pairs to compare: o->compare's two models, or every pair when there are
 * few models. -1 (code 2) when a named model is not in the files. */
static int plan_comparisons(report *r, l4h_err *err)
{
    size_t nm = r->n_vals[DIM_MODEL];
    const char *spec = r->o->compare;
    if (spec) {
        const char *comma = strchr(spec, ',');
        if (!comma || comma == spec || !comma[1])
            return l4h_err_set(err, L4H_EXIT_USAGE, "--compare %s: expected two models A,B", spec);
        char *a = l4h_xstrdup(spec);
        a[comma - spec] = '\0';
        const char *b = a + (comma - spec) + 1;
        size_t ia = nm, ib = nm;
        for (size_t i = 0; i < nm; i++) {
            if (!strcmp(r->vals[DIM_MODEL][i], a))
                ia = i;
            if (!strcmp(r->vals[DIM_MODEL][i], b))
                ib = i;
        }
        if (ia == nm || ib == nm || ia == ib) {
            l4h_buf m = {0};
            for (size_t i = 0; i < nm; i++)
                l4h_buf_printf(&m, "%s%s", i ? ", " : "", r->vals[DIM_MODEL][i]);
            l4h_err_set(err, L4H_EXIT_USAGE,
                        "--compare %s: expected two different models of the files (%s; a pair "
                        "is written supervisor+coder)", spec, m.data ? m.data : "none");
            l4h_buf_free(&m);
            free(a);
            return -1;
        }
        free(a);
        r->cmp = l4h_xcalloc(1, sizeof *r->cmp);
        r->cmp[0].a = ia;
        r->cmp[0].b = ib;
        r->n_cmp = 1;
        return 0;
    }
    if (nm < 2 || nm > L4H_REPORT_MAX_PAIRWISE)
        return 0;
    r->cmp = l4h_xcalloc(nm * (nm - 1) / 2, sizeof *r->cmp);
    for (size_t a = 0; a < nm; a++)
        for (size_t b = a + 1; b < nm; b++) {
            r->cmp[r->n_cmp].a = a;
            r->cmp[r->n_cmp++].b = b;
        }
    return 0;
}

/* Outcome of every counted (model, step, trial): a sorted table. */
typedef struct outcome {
    size_t model, step;
    int trial;
    int success;
} outcome;

static int outcome_cmp(const void *x, const void *y)
{
    const outcome *a = x, *b = y;
    if (a->model != b->model)
        return a->model < b->model ? -1 : 1;
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    return (a->trial > b->trial) - (a->trial < b->trial);
}

static void compare_models(report *r)
{
    if (!r->n_cmp)
        return;
    outcome *o = l4h_xcalloc(r->rs.n_rows ? r->rs.n_rows : 1, sizeof *o);
    size_t n = 0;
    for (size_t i = 0; i < r->rs.n_rows; i++) {
        const l4h_task_rec *t = r->rs.rows[i];
        if (l4h_status_is_infra(t->status) && !r->o->include_infra)
            continue;
        o[n++] = (outcome){r->row_val[DIM_MODEL][i], r->row_val[DIM_STEP][i], t->trial,
                           t->success != 0};
    }
    qsort(o, n, sizeof *o, outcome_cmp);
    /* first row of each model */
    size_t nm = r->n_vals[DIM_MODEL];
    size_t *start = l4h_xcalloc(nm + 1, sizeof *start);
    for (size_t m = 0, i = 0; m <= nm; m++) {
        while (i < n && o[i].model < m)
            i++;
        start[m] = i;
    }
    double *p = l4h_xcalloc(r->n_cmp, sizeof *p);
    for (size_t c = 0; c < r->n_cmp; c++) {
        struct cmp *x = &r->cmp[c];
        size_t i = start[x->a], ie = start[x->a + 1], j = start[x->b], je = start[x->b + 1];
        while (i < ie && j < je) {
            outcome ka = o[i], kb = o[j];
            ka.model = kb.model = 0;
            int d = outcome_cmp(&ka, &kb);
            if (d < 0) {
                i++;
            } else if (d > 0) {
                j++;
            } else {
                x->shared++;
                x->na_k += ka.success;
                x->nb_k += kb.success;
                if (ka.success && kb.success)
                    x->both++;
                else if (ka.success)
                    x->only_a++;
                else if (kb.success)
                    x->only_b++;
                else
                    x->neither++;
                /* a repeated (model, step, trial) from merged files pairs once */
                while (i + 1 < ie && outcome_cmp(&o[i], &o[i + 1]) == 0)
                    i++;
                while (j + 1 < je && outcome_cmp(&o[j], &o[j + 1]) == 0)
                    j++;
                i++;
                j++;
            }
        }
        x->p = report_mcnemar_exact_p(x->only_a, x->only_b);
        p[c] = x->p;
    }
    report_holm(p, r->n_cmp);
    for (size_t c = 0; c < r->n_cmp; c++)
        r->cmp[c].p_holm = p[c];
    free(p);
    free(start);
    free(o);
}

static void compute(report *r)
{
    size_t n1 = r->n_vals[r->dims[0]], n2 = r->n_dims == 2 ? r->n_vals[r->dims[1]] : 1;
    r->cells = l4h_xcalloc(n1 * n2 > 0 ? n1 * n2 : 1, sizeof *r->cells);
    r->tot1 = l4h_xcalloc(n1 ? n1 : 1, sizeof *r->tot1);
    r->tot2 = l4h_xcalloc(n2, sizeof *r->tot2);
    size_t nm = r->n_vals[DIM_MODEL], ns = r->n_vals[DIM_STEP];
    r->ms = l4h_xcalloc(nm * ns > 0 ? nm * ns : 1, sizeof *r->ms);
    int inc = r->o->include_infra;
    for (size_t i = 0; i < r->rs.n_rows; i++) {
        const l4h_task_rec *t = r->rs.rows[i];
        size_t v1 = r->row_val[r->dims[0]][i], v2 = r->n_dims == 2 ? r->row_val[r->dims[1]][i] : 0;
        agg_add(&r->cells[v1 * n2 + v2], t, inc);
        agg_add(&r->tot1[v1], t, inc);
        agg_add(&r->tot2[v2], t, inc);
        agg_add(&r->all, t, inc);
        agg *m = &r->ms[r->row_val[DIM_MODEL][i] * ns + r->row_val[DIM_STEP][i]];
        agg_add(m, t, inc);
        if (m->n > r->kmax)
            r->kmax = m->n;
    }
    compare_models(r);
}

/* Mean of pass@k (or pass^k) of a model over its steps with at least k trials. */
static double model_pass(const report *r, size_t m, int64_t k, int hat)
{
    size_t ns = r->n_vals[DIM_STEP];
    double sum = 0;
    int n = 0;
    for (size_t s = 0; s < ns; s++) {
        const agg *a = &r->ms[m * ns + s];
        if (a->n >= k) {
            sum += hat ? report_pass_hat_k(a->n, a->k, k) : report_pass_at_k(a->n, a->k, k);
            n++;
        }
    }
    return n ? sum / n : NAN;
}

/* ------------------------------------------------------------- output */

static double safe_div(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static void agg_cells(rtable *t, const agg *a)
{
    double lo, hi;
    report_wilson(a->k, a->n, 1.96, &lo, &hi);
    report_table_cell(t, "%lld/%lld", (long long)a->k, (long long)a->n);
    if (a->n)
        report_table_cell(t, "%.1f%%", 100.0 * a->k / a->n);
    else
        report_table_cell(t, "-");
    report_table_cell(t, "[%.1f%%, %.1f%%]", 100 * lo, 100 * hi);
    if (a->n) {
        report_table_cell(t, "%.2f", (double)a->iterations / a->n);
        report_table_cell(t, "%.2f", (double)a->api_calls / a->n);
    } else {
        report_table_cell(t, "-");
        report_table_cell(t, "-");
    }
    report_table_cell(t, "%lld", (long long)a->pt);
    report_table_cell(t, "%lld", (long long)a->ct);
    if (a->n && a->cost_unknown == a->n)
        report_table_cell(t, "?");
    else
        report_table_cell(t, "%.4f%s", a->cost, a->cost_unknown ? "+?" : "");
    if (a->n)
        report_table_cell(t, "%.1f", a->wall / a->n);
    else
        report_table_cell(t, "-");
    report_table_cell(t, "%lld", (long long)a->infra);
}

static void print_title(FILE *out, l4h_report_format fmt, const char *title)
{
    if (fmt == L4H_FMT_MARKDOWN)
        fprintf(out, "\n## %s\n\n", title);
    else
        fprintf(out, "\n%s\n", title);
}

static void print_success(const report *r, FILE *out)
{
    rtable t;
    const char *h1 = dim_names[r->dims[0]], *h2 = r->n_dims == 2 ? dim_names[r->dims[1]] : NULL;
    if (h2)
        report_table_init(&t, "llrrlrrrrrrr", h1, h2, "success", "rate", "95% CI", "iter/task", "calls/task",
                "tok in", "tok out", "cost $", "wall s/task", "infra");
    else
        report_table_init(&t, "lrrlrrrrrrr", h1, "success", "rate", "95% CI", "iter/task", "calls/task",
                "tok in", "tok out", "cost $", "wall s/task", "infra");
    size_t n1 = r->n_vals[r->dims[0]], n2 = h2 ? r->n_vals[r->dims[1]] : 1;
    for (size_t a = 0; a < n1; a++) {
        for (size_t b = 0; h2 && b < n2; b++) {
            const agg *c = &r->cells[a * n2 + b];
            if (c->n + c->infra == 0)
                continue;
            report_table_cell(&t, "%s", r->vals[r->dims[0]][a]);
            report_table_cell(&t, "%s", r->vals[r->dims[1]][b]);
            agg_cells(&t, c);
        }
        report_table_cell(&t, "%s", r->vals[r->dims[0]][a]);
        if (h2)
            report_table_cell(&t, "(all)");
        agg_cells(&t, &r->tot1[a]);
    }
    for (size_t b = 0; h2 && b < n2; b++) {
        report_table_cell(&t, "(all)");
        report_table_cell(&t, "%s", r->vals[r->dims[1]][b]);
        agg_cells(&t, &r->tot2[b]);
    }
    report_table_cell(&t, "(all)");
    if (h2)
        report_table_cell(&t, "(all)");
    agg_cells(&t, &r->all);
    char title[300];
    snprintf(title, sizeof title,
             "Success by %s%s%s (95%% Wilson interval; cost $ = total, +? = some prices "
             "unknown; infrastructure outcomes %s)",
             h1, h2 ? " and " : "", h2 ? h2 : "",
             r->o->include_infra ? "counted (--include-infra)" : "not counted, see infra");
    print_title(out, r->o->format, title);
    report_table_print(&t, r->o->format, out);
    report_table_free(&t);
}

/* The model's failures by status, per model and step; the columns are the
 * failed_* statuses as record.c lists them. */
static void print_failures(const report *r, FILE *out)
{
    size_t nm = r->n_vals[DIM_MODEL], ns = r->n_vals[DIM_STEP];
    const char *cols[L4H_STATUS_COUNT + 2] = {"model", "step"};
    int st_of[L4H_STATUS_COUNT + 2];
    char align[L4H_STATUS_COUNT + 3] = "ll";
    size_t ncols = 2;
    for (int st = 0; st < L4H_STATUS_COUNT; st++)
        if (st != L4H_STATUS_SUCCESS && !l4h_status_is_infra((l4h_status)st)) {
            align[ncols] = 'r';
            st_of[ncols] = st;
            cols[ncols++] = l4h_status_name((l4h_status)st);
        }
    align[ncols] = '\0';
    rtable t;
    report_table_init_v(&t, align, cols);
    for (size_t m = 0; m < nm; m++)
        for (size_t s = 0; s < ns; s++) {
            const agg *a = &r->ms[m * ns + s];
            int64_t failed = 0;
            for (size_t c = 2; c < ncols; c++)
                failed += a->status[st_of[c]];
            if (!failed)
                continue;
            report_table_cell(&t, "%s", r->vals[DIM_MODEL][m]);
            report_table_cell(&t, "%s", r->vals[DIM_STEP][s]);
            for (size_t c = 2; c < ncols; c++)
                report_table_cell(&t, "%lld", (long long)a->status[st_of[c]]);
        }
    print_title(out, r->o->format, "The models' failures by status (final rows; counted in the rates)");
    if (t.nrows)
        report_table_print(&t, r->o->format, out);
    else
        fprintf(out, "none\n");
    report_table_free(&t);
}

static void print_infra(const report *r, FILE *out)
{
    size_t nm = r->n_vals[DIM_MODEL], ns = r->n_vals[DIM_STEP];
    rtable t;
    /* one column per infrastructure status, as record.c lists them */
    const char *cols[L4H_STATUS_COUNT + 2] = {"model", "step"};
    char align[L4H_STATUS_COUNT + 3] = "ll";
    size_t ncols = 2;
    for (int st = 0; st < L4H_STATUS_COUNT; st++)
        if (l4h_status_is_infra((l4h_status)st)) {
            align[ncols] = 'r';
            cols[ncols++] = l4h_status_name((l4h_status)st);
        }
    align[ncols] = '\0';
    report_table_init_v(&t, align, cols);
    for (size_t m = 0; m < nm; m++)
        for (size_t s = 0; s < ns; s++) {
            const agg *a = &r->ms[m * ns + s];
            if (!a->infra)
                continue;
            report_table_cell(&t, "%s", r->vals[DIM_MODEL][m]);
            report_table_cell(&t, "%s", r->vals[DIM_STEP][s]);
            for (int st = 0; st < L4H_STATUS_COUNT; st++)
                if (l4h_status_is_infra((l4h_status)st))
                    report_table_cell(&t, "%lld", (long long)a->status[st]);
        }
    print_title(out, r->o->format,
                r->o->include_infra ? "Infrastructure outcomes (counted as failures: --include-infra)"
                                    : "Infrastructure outcomes (final rows; left out of the rates)");
    if (t.nrows)
        report_table_print(&t, r->o->format, out);
    else
        fprintf(out, "none\n");
    report_table_free(&t);
}

/* A probability with three decimals, '-' when undefined (NaN). */
static void prob_cell(rtable *t, double v)
{
    if (isnan(v))
        report_table_cell(t, "-");
    else
        report_table_cell(t, "%.3f", v);
}

/* The k shown in the table: every k up to 10 trials; beyond, 1 2 3 5 10 20
 * 50 100 ... and the largest (the JSON output has every k). Returns how many. */
static size_t ks_shown(int64_t K, int64_t *ks, size_t cap)
{
    size_t n = 0;
    if (K <= 10) {
        for (int64_t k = 1; k <= K && n < cap; k++)
            ks[n++] = k;
        return n;
    }
    static const int64_t first[] = {1, 2, 3, 5};
    for (size_t i = 0; i < 4; i++)
        ks[n++] = first[i];
    static const int64_t mant[] = {1, 2, 5};
    for (int64_t dec = 10; dec < K && n + 4 < cap; dec *= 10)
        for (size_t i = 0; i < 3; i++)
            if (dec * mant[i] < K)
                ks[n++] = dec * mant[i];
    ks[n++] = K;
    return n;
}

static void print_pass(const report *r, FILE *out)
{
    size_t nm = r->n_vals[DIM_MODEL], ns = r->n_vals[DIM_STEP];
    int64_t K = r->kmax;
    if (K < 1)
        return;
    int64_t ks[64];
    size_t nk = ks_shown(K, ks, 64);
    char align[4 + 2 * 64 + 1] = "llrr";
    memset(align + 4, 'r', 2 * nk);
    align[4 + 2 * nk] = '\0';
    rtable t;
    report_table_init(&t, "llrr", "model", "step", "trials", "successes");
    /* report_table_init takes a fixed header list: add the pass columns by hand */
    t.ncols = 4 + 2 * nk;
    free(t.align);
    t.align = l4h_xstrdup(align);
    t.head = l4h_xrealloc(t.head, t.ncols * sizeof *t.head);
    for (size_t i = 0; i < nk; i++) {
        char h[32];
        snprintf(h, sizeof h, "pass@%lld", (long long)ks[i]);
        t.head[4 + i] = l4h_xstrdup(h);
        snprintf(h, sizeof h, "pass^%lld", (long long)ks[i]);
        t.head[4 + nk + i] = l4h_xstrdup(h);
    }
    for (size_t m = 0; m < nm; m++) {
        int64_t n = 0, c = 0;
        for (size_t s = 0; s < ns; s++) {
            const agg *a = &r->ms[m * ns + s];
            if (!a->n)
                continue;
            n += a->n;
            c += a->k;
            report_table_cell(&t, "%s", r->vals[DIM_MODEL][m]);
            report_table_cell(&t, "%s", r->vals[DIM_STEP][s]);
            report_table_cell(&t, "%lld", (long long)a->n);
            report_table_cell(&t, "%lld", (long long)a->k);
            for (int hat = 0; hat < 2; hat++)
                for (size_t i = 0; i < nk; i++)
                    prob_cell(&t, hat ? report_pass_hat_k(a->n, a->k, ks[i])
                                      : report_pass_at_k(a->n, a->k, ks[i]));
        }
        report_table_cell(&t, "%s", r->vals[DIM_MODEL][m]);
        report_table_cell(&t, "(mean of steps)");
        report_table_cell(&t, "%lld", (long long)n);
        report_table_cell(&t, "%lld", (long long)c);
        for (int hat = 0; hat < 2; hat++)
            for (size_t i = 0; i < nk; i++)
                prob_cell(&t, model_pass(r, m, ks[i], hat));
    }
    print_title(out, r->o->format,
                K <= 10 ? "pass@k (unbiased estimator: at least one of k trials succeeds) and pass^k "
                          "(all k succeed), per model and step; '-' where fewer than k trials ran"
                        : "pass@k (unbiased estimator: at least one of k trials succeeds) and pass^k "
                          "(all k succeed), per model and step; '-' where fewer than k trials ran; "
                          "a selection of k (--format json gives every k)");
    report_table_print(&t, r->o->format, out);
    report_table_free(&t);
}

static void print_compare(const report *r, FILE *out)
{
    size_t nm = r->n_vals[DIM_MODEL];
    if (!r->n_cmp) {
        if (nm > L4H_REPORT_MAX_PAIRWISE)
            fprintf(out, "\n(%zu models: compare two with --compare A,B)\n", nm);
        return;
    }
    rtable t;
    report_table_init(&t, "llrrrrrrrrrl", "A", "B", "shared", "both", "only A", "only B", "neither",
            "rate A", "rate B", "p", "p (Holm)", "verdict");
    for (size_t c = 0; c < r->n_cmp; c++) {
        const struct cmp *x = &r->cmp[c];
        report_table_cell(&t, "%s", r->vals[DIM_MODEL][x->a]);
        report_table_cell(&t, "%s", r->vals[DIM_MODEL][x->b]);
        report_table_cell(&t, "%lld", (long long)x->shared);
        report_table_cell(&t, "%lld", (long long)x->both);
        report_table_cell(&t, "%lld", (long long)x->only_a);
        report_table_cell(&t, "%lld", (long long)x->only_b);
        report_table_cell(&t, "%lld", (long long)x->neither);
        if (x->shared) {
            report_table_cell(&t, "%.1f%%", 100.0 * x->na_k / x->shared);
            report_table_cell(&t, "%.1f%%", 100.0 * x->nb_k / x->shared);
        } else {
            report_table_cell(&t, "-");
            report_table_cell(&t, "-");
        }
        report_table_cell(&t, "%.4g", x->p);
        report_table_cell(&t, "%.4g", x->p_holm);
        double p = r->n_cmp > 1 ? x->p_holm : x->p;
        if (!x->shared)
            report_table_cell(&t, "no shared tasks");
        else if (p < 0.05)
            report_table_cell(&t, "%s better", x->only_a > x->only_b ? "A" : "B");
        else
            report_table_cell(&t, "no significant difference");
    }
    print_title(out, r->o->format,
                "Paired comparison on shared tasks (same step and trial): exact McNemar test, "
                "two-sided; verdict at 5% (Holm-adjusted when several pairs)");
    report_table_print(&t, r->o->format, out);
    report_table_free(&t);
}

static void print_header(const report *r, FILE *out)
{
    const rowset *rs = &r->rs;
    if (r->o->format == L4H_FMT_MARKDOWN)
        fprintf(out, "# llm4hep report\n\n");
    fprintf(out, "%zu final task(s) of %zu attempt(s) in %zu file(s)%s\n", rs->n_rows,
            rs->n_attempts, rs->n_files, rs->n_duplicates ? " (duplicate keys counted once)" : "");
    for (size_t f = 0; f < rs->n_files; f++) {
        const l4h_results *res = rs->files[f];
        if (r->o->format == L4H_FMT_MARKDOWN) {
            fputs("- ", out);
            report_md_puts(res->path, out);
            fputs(": campaign ", out);
            report_md_puts(res->campaign, out);
        } else {
            fprintf(out, "  %s: campaign %s", res->path, res->campaign);
        }
        fprintf(out, ", %zu attempt(s)\n", res->n_tasks);
        int ns = file_series(res);
        if (ns < 2)
            continue;
        fprintf(out, "%s  %d input series: a resume went on with changed inputs "
                     "(--accept-changed-inputs); rows are shown apart by series (",
                r->o->format == L4H_FMT_MARKDOWN ? "  " : "  ", ns);
        for (int s = 1; s <= ns; s++) {
            fprintf(out, "%sseries %d: run", s > 1 ? "; " : "", s);
            int first = 1;
            for (size_t k = 0; k < res->n_runs; k++)
                if (res->run_series[k] == s) {
                    fprintf(out, "%s%zu", first ? " " : ",", k + 1);
                    first = 0;
                }
        }
        fprintf(out, ")\n");
    }
}

/* ---------------------------------------------------------------- JSON */

static void json_agg(l4h_buf *b, const agg *a)
{
    double lo, hi;
    report_wilson(a->k, a->n, 1.96, &lo, &hi);
    l4h_buf_printf(b, "\"trials\": %lld, \"successes\": %lld, \"rate\": ", (long long)a->n,
                   (long long)a->k);
    report_json_num(b, safe_div((double)a->k, (double)a->n));
    l4h_buf_puts(b, ", \"wilson_lo\": ");
    report_json_num(b, lo);
    l4h_buf_puts(b, ", \"wilson_hi\": ");
    report_json_num(b, hi);
    l4h_buf_printf(b, ", \"iterations\": %lld, \"mean_iterations\": ", (long long)a->iterations);
    report_json_num(b, safe_div((double)a->iterations, (double)a->n));
    l4h_buf_printf(b, ", \"api_calls\": %lld, \"mean_api_calls\": ", (long long)a->api_calls);
    report_json_num(b, safe_div((double)a->api_calls, (double)a->n));
    l4h_buf_printf(b, ", \"prompt_tokens\": %lld, \"completion_tokens\": %lld, \"cost_usd\": ",
                   (long long)a->pt, (long long)a->ct);
    report_json_num(b, a->cost);
    l4h_buf_printf(b, ", \"cost_unknown\": %lld, \"wall_s\": ", (long long)a->cost_unknown);
    report_json_num(b, a->wall);
    l4h_buf_puts(b, ", \"mean_wall_s\": ");
    report_json_num(b, safe_div(a->wall, (double)a->n));
    l4h_buf_printf(b, ", \"infra\": %lld, \"infra_statuses\": {", (long long)a->infra);
    const char *sep = "";
    for (int st = 0; st < L4H_STATUS_COUNT; st++) {
        if (!l4h_status_is_infra((l4h_status)st))
            continue;
        l4h_buf_printf(b, "%s\"%s\": %lld", sep, l4h_status_name((l4h_status)st),
                       (long long)a->status[st]);
        sep = ", ";
    }
    l4h_buf_puts(b, "}, \"statuses\": {");
    for (int st = 0; st < L4H_STATUS_COUNT; st++)
        l4h_buf_printf(b, "%s\"%s\": %lld", st ? ", " : "", l4h_status_name((l4h_status)st),
                       (long long)a->status[st]);
    l4h_buf_puts(b, "}");
}

static void json_group(l4h_buf *b, const report *r, const char *v1, const char *v2,
                       const agg *a, int *first)
{
    l4h_buf_puts(b, *first ? "\n    {" : ",\n    {");
    *first = 0;
    for (size_t d = 0; d < r->n_dims; d++) {
        const char *v = d ? v2 : v1;
        l4h_buf_printf(b, "%s\"%s\": ", d ? ", " : "", dim_names[r->dims[d]]);
        if (v)
            report_json_str(b, v);
        else
            l4h_buf_puts(b, "null");
    }
    l4h_buf_puts(b, ", ");
    json_agg(b, a);
    l4h_buf_puts(b, "}");
}

static void print_json(const report *r, const char *rescored, FILE *out)
{
    l4h_buf b = {0};
    const rowset *rs = &r->rs;
    l4h_buf_puts(&b, "{\n  \"files\": [");
    for (size_t f = 0; f < rs->n_files; f++) {
        l4h_buf_puts(&b, f ? ", {\"path\": " : "{\"path\": ");
        report_json_str(&b, rs->files[f]->path);
        l4h_buf_puts(&b, ", \"campaign\": ");
        report_json_str(&b, rs->files[f]->campaign);
        l4h_buf_printf(&b, ", \"attempts\": %zu}", rs->files[f]->n_tasks);
    }
    l4h_buf_printf(&b, "],\n  \"final_tasks\": %zu,\n  \"duplicates\": %zu,\n  \"include_infra\": %s,\n",
                   rs->n_rows, rs->n_duplicates, r->o->include_infra ? "true" : "false");
    /* every status and whose it is: the one list scripts can check theirs against */
    l4h_buf_puts(&b, "  \"status_kinds\": {");
    for (int st = 0; st < L4H_STATUS_COUNT; st++)
        l4h_buf_printf(&b, "%s\"%s\": \"%s\"", st ? ", " : "", l4h_status_name((l4h_status)st),
                       st == L4H_STATUS_SUCCESS ? "success"
                       : l4h_status_is_infra((l4h_status)st) ? "infrastructure" : "model");
    l4h_buf_puts(&b, "},\n");
    l4h_buf_printf(&b, "  \"by\": [\"%s\"%s%s%s],\n  \"groups\": [", dim_names[r->dims[0]],
                   r->n_dims == 2 ? ", \"" : "", r->n_dims == 2 ? dim_names[r->dims[1]] : "",
                   r->n_dims == 2 ? "\"" : "");
    size_t n1 = r->n_vals[r->dims[0]], n2 = r->n_dims == 2 ? r->n_vals[r->dims[1]] : 1;
    int first = 1;
    for (size_t a = 0; a < n1; a++)
        for (size_t c = 0; r->n_dims == 2 && c < n2; c++) {
            const agg *g = &r->cells[a * n2 + c];
            if (g->n + g->infra)
                json_group(&b, r, r->vals[r->dims[0]][a], r->vals[r->dims[1]][c], g, &first);
        }
    if (r->n_dims == 1)
        for (size_t a = 0; a < n1; a++)
            json_group(&b, r, r->vals[r->dims[0]][a], NULL, &r->tot1[a], &first);
    l4h_buf_puts(&b, "\n  ],\n  \"totals\": [");
    first = 1;
    if (r->n_dims == 2) {
        for (size_t a = 0; a < n1; a++)
            json_group(&b, r, r->vals[r->dims[0]][a], NULL, &r->tot1[a], &first);
        for (size_t c = 0; c < n2; c++)
            json_group(&b, r, NULL, r->vals[r->dims[1]][c], &r->tot2[c], &first);
    }
    json_group(&b, r, NULL, NULL, &r->all, &first);
    l4h_buf_puts(&b, "\n  ],\n  \"pass_at_k\": [");
    size_t nm = r->n_vals[DIM_MODEL], ns = r->n_vals[DIM_STEP];
    first = 1;
    for (size_t m = 0; m < nm; m++)
        for (size_t s = 0; s <= ns; s++) {
            const agg *a = s < ns ? &r->ms[m * ns + s] : NULL;
            if (a && !a->n)
                continue;
            l4h_buf_puts(&b, first ? "\n    {\"model\": " : ",\n    {\"model\": ");
            first = 0;
            report_json_str(&b, r->vals[DIM_MODEL][m]);
            l4h_buf_puts(&b, ", \"step\": ");
            if (a) {
                report_json_str(&b, r->vals[DIM_STEP][s]);
                l4h_buf_printf(&b, ", \"trials\": %lld, \"successes\": %lld", (long long)a->n,
                               (long long)a->k);
            } else {
                l4h_buf_puts(&b, "null");
            }
            for (int hat = 0; hat < 2; hat++) {
                l4h_buf_puts(&b, hat ? ", \"pass_hat_k\": [" : ", \"pass_at_k\": [");
                int64_t K = a ? a->n : r->kmax;
                for (int64_t k = 1; k <= K; k++) {
                    if (k > 1)
                        l4h_buf_puts(&b, ", ");
                    report_json_num(&b, a ? (hat ? report_pass_hat_k(a->n, a->k, k)
                                          : report_pass_at_k(a->n, a->k, k))
                                   : model_pass(r, m, k, hat));
                }
                l4h_buf_puts(&b, "]");
            }
            l4h_buf_puts(&b, "}");
        }
    l4h_buf_puts(&b, "\n  ],\n  \"comparisons\": [");
    for (size_t c = 0; c < r->n_cmp; c++) {
        const struct cmp *x = &r->cmp[c];
        l4h_buf_puts(&b, c ? ",\n    {\"a\": " : "\n    {\"a\": ");
        report_json_str(&b, r->vals[DIM_MODEL][x->a]);
        l4h_buf_puts(&b, ", \"b\": ");
        report_json_str(&b, r->vals[DIM_MODEL][x->b]);
        l4h_buf_printf(&b, ", \"shared\": %lld, \"both\": %lld, \"only_a\": %lld, "
                           "\"only_b\": %lld, \"neither\": %lld, \"p_value\": ",
                       (long long)x->shared, (long long)x->both, (long long)x->only_a,
                       (long long)x->only_b, (long long)x->neither);
        report_json_num(&b, x->p);
        l4h_buf_puts(&b, ", \"p_holm\": ");
        report_json_num(&b, x->p_holm);
        double p = r->n_cmp > 1 ? x->p_holm : x->p;
        l4h_buf_printf(&b, ", \"better\": %s}",
                       x->shared && p < 0.05 ? (x->only_a > x->only_b ? "\"a\"" : "\"b\"") : "null");
    }
    l4h_buf_puts(&b, r->n_cmp ? "\n  ],\n  \"rescored\": " : "],\n  \"rescored\": ");
    l4h_buf_printf(&b, "%s\n}\n", rescored);
    fputs(b.data, out);
    l4h_buf_free(&b);
}

static void report_free(report *r)
{
    for (int d = 0; d < N_DIMS; d++) {
        for (size_t i = 0; i < r->n_vals[d]; i++)
            free(r->vals[d][i]);
        free(r->vals[d]);
        free(r->row_val[d]);
    }
    free(r->cells);
    free(r->tot1);
    free(r->tot2);
    free(r->ms);
    free(r->cmp);
    report_rowset_free(&r->rs);
}

int l4h_report_print(char *const *paths, size_t n_paths, const l4h_report_opts *o, FILE *out,
                     l4h_err *err)
{
    report r;
    memset(&r, 0, sizeof r);
    r.o = o;
    if (parse_by(&r, o->by, err) != 0)
        return -1;
    if (report_rowset_open(&r.rs, paths, n_paths, err) != 0)
        return -1;
    index_rows(&r);
    int rc = -1;
    if (plan_comparisons(&r, err) != 0)
        goto out;
    compute(&r);
    if (o->csv_path && report_csv(r.rs.rows, r.rs.n_rows, o->csv_path, err) != 0)
        goto out;
    if (o->format == L4H_FMT_JSON) {
        l4h_buf resc = {0};
        if (report_rescored_json(&r.rs, &resc, err) != 0) {
            l4h_buf_free(&resc);
            goto out;
        }
        print_json(&r, resc.data, out);
        l4h_buf_free(&resc);
    } else {
        print_header(&r, out);
        print_success(&r, out);
        print_infra(&r, out);
        print_failures(&r, out);
        print_pass(&r, out);
        print_compare(&r, out);
        if (report_print_rescored(&r.rs, o->format, out, err) != 0)
            goto out;
    }
    rc = 0;
out:
    report_free(&r);
    return rc;
}
