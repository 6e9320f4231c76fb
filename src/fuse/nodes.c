/*
 * Node and handle tables of the FUSE server. Node ids and file handles are
 * server-chosen, never reused, and looked up in hash tables, so a guest can
 * only name objects it was given. Lookup counts are kept here: FORGET can
 * lower a count to zero but never below, and a node is only freed when the
 * kernel's count and the server's own references (in-flight requests, open
 * handles, children, DAX mappings) are all gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/internal.h"
#include "util/error.h"

#define HT_MIN 256

static size_t hash64(uint64_t k, size_t nb)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k & (nb - 1);
}

static size_t key_hash(dev_t dev, ino_t ino, size_t nb)
{
	return hash64((uint64_t)ino * 31 + (uint64_t)dev, nb);
}

static int ht_init(struct htab *t)
{
	t->b = calloc(HT_MIN, sizeof(void *));
	t->nb = HT_MIN;
	t->n = 0;
	return t->b ? 0 : -ENOMEM;
}

/* Chains are linked through a per-table next pointer: id, key or handle. */
enum ht_kind { HT_ID, HT_KEY, HT_FH };

static void **next_of(void *e, enum ht_kind k)
{
	if (k == HT_ID)
		return (void **)&((struct fnode *)e)->id_next;
	if (k == HT_KEY)
		return (void **)&((struct fnode *)e)->key_next;
	return (void **)&((struct fhandle *)e)->next;
}

static size_t slot_of(void *e, enum ht_kind k, size_t nb)
{
	if (k == HT_ID)
		return hash64(((struct fnode *)e)->nodeid, nb);
	if (k == HT_KEY)
		return key_hash(((struct fnode *)e)->dev,
				((struct fnode *)e)->ino_nr, nb);
	return hash64(((struct fhandle *)e)->fh, nb);
}

static void ht_grow(struct htab *t, enum ht_kind k)
{
	size_t nb = t->nb * 2;
	void **b = calloc(nb, sizeof(void *));

	if (!b)
		return; /* keep the longer chains */
	for (size_t i = 0; i < t->nb; i++) {
		void *e = t->b[i];

		while (e) {
			void *next = *next_of(e, k);
			size_t j = slot_of(e, k, nb);

			*next_of(e, k) = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

static void ht_add(struct htab *t, void *e, enum ht_kind k)
{
	size_t i;

	if (t->n >= t->nb)
		ht_grow(t, k);
	i = slot_of(e, k, t->nb);
	*next_of(e, k) = t->b[i];
	t->b[i] = e;
	t->n++;
}

static void ht_del(struct htab *t, void *e, enum ht_kind k)
{
	void **pp = &t->b[slot_of(e, k, t->nb)];

	while (*pp && *pp != e)
		pp = next_of(*pp, k);
	if (*pp) {
		*pp = *next_of(e, k);
		t->n--;
	}
}

static struct fnode *find_id(struct fuse_server *s, uint64_t id)
{
	struct fnode *n = s->by_id.b[hash64(id, s->by_id.nb)];

	while (n && n->nodeid != id)
		n = n->id_next;
	return n;
}

static struct fnode *find_key(struct fuse_server *s, dev_t dev, ino_t ino)
{
	struct fnode *n = s->by_key.b[key_hash(dev, ino, s->by_key.nb)];

	while (n && (n->dev != dev || n->ino_nr != ino))
		n = n->key_next;
	return n;
}

/* Frees n and then any parent left unreferenced. Called with the lock. */
static void maybe_free(struct fuse_server *s, struct fnode *n)
{
	while (n && n != s->root && n->nlookup == 0 && n->refs == 0) {
		struct fnode *p = n->parent;

		ht_del(&s->by_id, n, HT_ID);
		if (n->ino) {
			ht_del(&s->by_key, n, HT_KEY);
			s->ops->forget(s->be, n->ino);
		}
		free(n->name);
		free(n);
		if (p)
			p->refs--;
		n = p;
	}
}

int nodes_init(struct fuse_server *s, struct sm_error *err)
{
	struct fnode *r;
	struct stat st;
	void *ino;
	int rc;

	if (ht_init(&s->by_id) || ht_init(&s->by_key) || ht_init(&s->handles))
		return sm_err(err, -ENOMEM, "fuse: node tables");
	ino = s->ops->root(s->be);
	if (!ino)
		return sm_err(err, -ENOMEM, "fuse: backend root");
	rc = s->ops->getattr(s->be, ino, &st);
	if (rc < 0) {
		s->ops->forget(s->be, ino);
		return sm_err(err, rc, "fuse: stat of the share's root");
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		s->ops->forget(s->be, ino);
		return sm_err(err, -ENOMEM, "fuse: root node");
	}
	r->nodeid = FUSE_ROOT_ID;
	r->ino = ino;
	r->dev = st.st_dev;
	r->ino_nr = st.st_ino;
	r->type = st.st_mode & S_IFMT;
	r->nlookup = 1;
	s->root = r;
	s->next_nodeid = FUSE_ROOT_ID + 1;
	s->next_fh = 1;
	ht_add(&s->by_id, r, HT_ID);
	ht_add(&s->by_key, r, HT_KEY);
	return 0;
}

void nodes_fini(struct fuse_server *s)
{
	/* Handles first (they pin nodes), then every node. */
	for (size_t i = 0; s->handles.b && i < s->handles.nb; i++) {
		struct fhandle *h = s->handles.b[i];

		while (h) {
			struct fhandle *next = h->next;

			if (h->bfh)
				s->ops->release(s->be, h->node->ino, h->bfh);
			free(h);
			h = next;
		}
	}
	for (size_t i = 0; s->by_id.b && i < s->by_id.nb; i++) {
		struct fnode *n = s->by_id.b[i];

		while (n) {
			struct fnode *next = n->id_next;

			if (n->ino)
				s->ops->forget(s->be, n->ino);
			free(n->name);
			free(n);
			n = next;
		}
	}
	free(s->by_id.b);
	free(s->by_key.b);
	free(s->handles.b);
	memset(&s->by_id, 0, sizeof(s->by_id));
	memset(&s->by_key, 0, sizeof(s->by_key));
	memset(&s->handles, 0, sizeof(s->handles));
	s->root = NULL;
}

struct fnode *node_get(struct fuse_server *s, uint64_t nodeid)
{
	struct fnode *n;

	pthread_mutex_lock(&s->lock);
	n = find_id(s, nodeid);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

struct fnode *node_place(struct fuse_server *s, struct fnode *n, char *name,
			 size_t size)
{
	struct fnode *dir = NULL;

	pthread_mutex_lock(&s->lock);
	if (n->parent && n->parent->ino && n->name && strlen(n->name) < size) {
		dir = n->parent;
		dir->refs++;
		strcpy(name, n->name);
	}
	pthread_mutex_unlock(&s->lock);
	return dir;
}

void node_put(struct fuse_server *s, struct fnode *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&s->lock);
	n->refs--;
	maybe_free(s, n);
	pthread_mutex_unlock(&s->lock);
}

/* True when p is n or below n: making p the parent of n would loop. */
static int is_below(struct fnode *p, struct fnode *n)
{
	for (int depth = 0; p && depth < 4096; depth++, p = p->parent)
		if (p == n)
			return 1;
	return p != NULL;
}

/* Records parent/name as the node's path (last name wins for hardlinks). */
static void set_path(struct fuse_server *s, struct fnode *n,
		     struct fnode *parent, const char *name)
{
	struct fnode *old = n->parent;
	char *copy;

	if (!parent || n == s->root)
		return;
	if (old == parent && n->name && strcmp(n->name, name) == 0)
		return;
	if (is_below(parent, n))
		return; /* the host moved things around; keep the old path */
	copy = strdup(name);
	if (!copy)
		return;
	free(n->name);
	n->name = copy;
	parent->refs++;
	n->parent = parent;
	if (old) {
		old->refs--;
		maybe_free(s, old);
	}
}

/* A new node for ino; called with the lock, under the node cap. */
static struct fnode *node_new(struct fuse_server *s, void *ino,
			      const struct stat *st, uint64_t nodeid)
{
	struct fnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->nodeid = nodeid ? nodeid : s->next_nodeid++;
	n->ino = ino;
	n->dev = st->st_dev;
	n->ino_nr = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	ht_add(&s->by_id, n, HT_ID);
	if (ino && !find_key(s, n->dev, n->ino_nr))
		ht_add(&s->by_key, n, HT_KEY);
	else if (ino)
		n->dev = (dev_t)-1; /* restore duplicate: not keyed */
	return n;
}

int node_enter(struct fuse_server *s, struct fnode *parent, const char *name,
	       void *ino, const struct stat *st, uint64_t nodeid,
	       struct fnode **out)
{
	struct fnode *n;
	void *dup = NULL;

	pthread_mutex_lock(&s->lock);
	n = nodeid ? NULL : find_key(s, st->st_dev, st->st_ino);
	if (n) {
		dup = ino;
	} else {
		/* the cap bounds the backend's per-node fds (passthrough:
		 * one O_PATH fd each), so it is checked before a new node */
		int rc = s->by_id.n >= s->max_nodes ? -ENFILE : 0;

		n = rc ? NULL : node_new(s, ino, st, nodeid);
		if (!n) {
			pthread_mutex_unlock(&s->lock);
			if (ino)
				s->ops->forget(s->be, ino);
			return rc ? rc : -ENOMEM;
		}
	}
	n->nlookup++;
	n->refs++;
	set_path(s, n, parent, name);
	pthread_mutex_unlock(&s->lock);
	if (dup)
		s->ops->forget(s->be, dup);
	*out = n;
	return 0;
}

int nodes_full(struct fuse_server *s)
{
	int full;

	pthread_mutex_lock(&s->lock);
	full = s->by_id.n >= s->max_nodes;
	pthread_mutex_unlock(&s->lock);
	return full;
}

int handles_full(struct fuse_server *s)
{
	int full;

	pthread_mutex_lock(&s->lock);
	full = s->handles.n >= s->max_handles;
	pthread_mutex_unlock(&s->lock);
	return full;
}

void node_forget(struct fuse_server *s, uint64_t nodeid, uint64_t cnt)
{
	struct fnode *n;

	pthread_mutex_lock(&s->lock);
	n = find_id(s, nodeid);
	if (n && n != s->root) {
		n->nlookup -= cnt < n->nlookup ? cnt : n->nlookup;
		maybe_free(s, n);
	}
	pthread_mutex_unlock(&s->lock);
}

void node_moved(struct fuse_server *s, struct fnode *olddir,
		const char *oldname, struct fnode *newdir, const char *newname)
{
	struct stat st;
	struct fnode *n;
	void *ino;

	(void)olddir;
	(void)oldname;
	if (!newdir->ino ||
	    s->ops->lookup(s->be, newdir->ino, newname, &ino, &st) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	n = find_key(s, st.st_dev, st.st_ino);
	if (n)
		set_path(s, n, newdir, newname);
	pthread_mutex_unlock(&s->lock);
	s->ops->forget(s->be, ino);
}

static struct fhandle *find_fh(struct fuse_server *s, uint64_t fh)
{
	struct fhandle *h = s->handles.b[hash64(fh, s->handles.nb)];

	while (h && h->fh != fh)
		h = h->next;
	return h;
}

int handle_new(struct fuse_server *s, struct fnode *n, void *bfh, int flags,
	       int is_dir, uint64_t fh, struct fhandle **out)
{
	struct fhandle *h = calloc(1, sizeof(*h));
	int rc = 0;

	if (!h)
		return -ENOMEM;
	h->node = n;
	h->bfh = bfh;
	h->flags = flags;
	h->is_dir = is_dir;
	h->refs = 1; /* the table's */
	h->in_table = 1;
	pthread_mutex_lock(&s->lock);
	/* the cap bounds the backend's per-handle fds */
	if (s->handles.n >= s->max_handles)
		rc = -EMFILE;
	else if (fh && find_fh(s, fh))
		rc = -EEXIST;
	if (rc < 0) {
		pthread_mutex_unlock(&s->lock);
		free(h);
		return rc;
	}
	h->fh = fh ? fh : s->next_fh++;
	n->refs++;
	ht_add(&s->handles, h, HT_FH);
	pthread_mutex_unlock(&s->lock);
	*out = h;
	return 0;
}

struct fhandle *handle_get(struct fuse_server *s, uint64_t fh)
{
	struct fhandle *h;

	pthread_mutex_lock(&s->lock);
	h = find_fh(s, fh);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&s->lock);
	return h;
}

void handle_put(struct fuse_server *s, struct fhandle *h)
{
	int last;

	if (!h)
		return;
	pthread_mutex_lock(&s->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	if (h->bfh)
		s->ops->release(s->be, h->node->ino, h->bfh);
	node_put(s, h->node);
	free(h);
}

int handle_close(struct fuse_server *s, uint64_t fh, int is_dir)
{
	struct fhandle *h;

	pthread_mutex_lock(&s->lock);
	h = find_fh(s, fh);
	if (!h || h->is_dir != is_dir) {
		pthread_mutex_unlock(&s->lock);
		return -EBADF;
	}
	ht_del(&s->handles, h, HT_FH);
	h->in_table = 0;
	pthread_mutex_unlock(&s->lock);
	handle_put(s, h);
	return 0;
}

void nodes_foreach(struct fuse_server *s, void (*fn)(void *, struct fnode *),
		   void *arg)
{
	for (size_t i = 0; i < s->by_id.nb; i++)
		for (struct fnode *n = s->by_id.b[i]; n; n = n->id_next)
			fn(arg, n);
}

void handles_foreach(struct fuse_server *s,
		     void (*fn)(void *, struct fhandle *), void *arg)
{
	for (size_t i = 0; i < s->handles.nb; i++)
		for (struct fhandle *h = s->handles.b[i]; h; h = h->next)
			fn(arg, h);
}
