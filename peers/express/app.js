'use strict';

// Reference peer for bin/bench: the experiment's Node side, written plainly —
// Express, Knex as a query builder (no ORM) over node-postgres, run by PM2.

const express = require('express');
const knexFactory = require('knex');
const { types } = require('pg');

// node-postgres returns bigint (the bigserial id) as a string; the usual fix,
// so the 201 body carries "id": 1 like the other servers, not "id": "1".
types.setTypeParser(types.builtins.INT8, (value) => parseInt(value, 10));

// DATABASE_URL when it is a postgres:// URL; otherwise (unset, or a libpq
// "host=... dbname=..." string, which node-postgres cannot parse) node-postgres
// reads PGHOST (a socket directory works), PGPORT, PGUSER, PGPASSWORD and
// PGDATABASE itself. Pool: Knex's default (min 2, max 10 per process).
const databaseUrl = process.env.DATABASE_URL || '';
const knex = knexFactory({
  client: 'pg',
  connection: /^postgres(ql)?:\/\//.test(databaseUrl) ? databaseUrl : {},
});

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(express.json());

const TITLE_MAX = 255;

function validate(body) {
  const { title, description } = body || {};
  if (typeof title !== 'string' || title.length === 0) {
    return 'title is required';
  }
  if (title.length > TITLE_MAX) {
    return `title is longer than ${TITLE_MAX} characters`;
  }
  if (typeof description !== 'string' || description.length === 0) {
    return 'description is required';
  }
  return null;
}

app.post(['/api/tasks', '/api/tasks/'], async (req, res) => {
  const error = validate(req.body);
  if (error) {
    return res.status(400).json({ error });
  }
  const { title, description } = req.body;
  const [task] = await knex('task')
    .insert({ title, description })
    .returning(['id', 'title', 'description', 'created_at']);
  return res.status(201).location(`/api/tasks/${task.id}`).json(task);
});

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

app.use((req, res) => {
  res.status(404).json({ error: 'not found' });
});

// Express 5 forwards rejected promises here; body-parser errors carry a 4xx status.
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  const status = err.status && err.status < 500 ? err.status : 500;
  if (status === 500) {
    console.error(err);
  }
  res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
});

const port = parseInt(process.env.PORT || '3000', 10);
const host = process.env.HOST || '127.0.0.1';

const server = app.listen(port, host, () => {
  const { address, port: bound } = server.address();
  console.log(`express peer pid ${process.pid} listening on http://${address}:${bound}`);
});
