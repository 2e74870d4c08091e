'use strict'
// @kafkajs/confluent-schema-registry and kafkajs against a real `sluice serve`
// (tests/registry_node_test.go runs this with /usr/bin/node).
//
//   node registry.js <bootstrap host:port[,host:port...]> <registry URL> [consumer's registry URL]
//   (or SLUICE_BOOTSTRAP, SLUICE_REGISTRY_URL, SLUICE_CONSUMER_REGISTRY_URL in the environment;
//   the consumer decodes through the first URL unless given another; SLUICE_REPLICATION_FACTOR
//   is the topics' replication factor, default 1). Secured listeners, also from the environment:
//   SLUICE_CA_FILE, the CA (PEM) that the Kafka listener's and the registry's TLS certificates
//   are checked against (setting it turns TLS on for kafkajs; the registry's is by its https
//   URL); SLUICE_KAFKA_SASL, mechanism:user:password for kafkajs; SLUICE_REGISTRY_AUTH,
//   user:password for the registry clients' basic authentication (a client without it must then
//   be answered 401).
//
// For each of AVRO, JSON and PROTOBUF: a chain of three schemas in three subjects, each
// referring to the one before it (Avro named types, JSON Schema $refs to $id URLs, absolute
// and relative to the referring schema's $id, Protobuf imports), registered through the library's register(schema, {subject}) with references;
// the ids it returns checked against getRegistryId, getLatestSchemaId and
// getRegistryIdBySchema (which sends no references: a schema needing them is answered 422); values encoded with registry.encode(id, value), produced with kafkajs
// to a topic that validates value schema ids, consumed back, and decoded by a second
// SchemaRegistry instance that has never seen the schemas (it fetches the writer's schema by
// the id in the record and resolves its references through the registry), then deep-compared
// with what was sent. A value without a schema id must be refused by the topic; an Avro schema
// registered without a subject lands in <namespace>.<name>; decoding an id nobody registered
// is answered 404 (Confluent's 40403 "Schema 9999 not found"). The Avro order
// evolves: v2 (a new field with a default) becomes version 2, v3 (a new field without one) is
// found incompatible and refused with 409, a subject-level compatibility other than the one the
// library asks for is noticed, and every Avro record is read again with v2 as the reader schema.
//
// Prints one JSON line with what it checked on success; exits 1 with a message on any mismatch.

const assert = require('node:assert/strict')
const { Kafka, logLevel, CompressionTypes, Partitioners } = require('kafkajs')
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry')

const bootstrap = process.argv[2] || process.env.SLUICE_BOOTSTRAP
const registryURL = process.argv[3] || process.env.SLUICE_REGISTRY_URL
const consumerRegistryURL = process.argv[4] || process.env.SLUICE_CONSUMER_REGISTRY_URL || registryURL
const replicationFactor = Number(process.env.SLUICE_REPLICATION_FACTOR || 1)
if (!bootstrap || !registryURL || !(replicationFactor >= 1)) {
  console.error('usage: node registry.js <bootstrap host:port[,host:port...]> <registry URL> [consumer registry URL]')
  process.exit(2)
}

const caFile = process.env.SLUICE_CA_FILE
const ca = caFile ? [require('node:fs').readFileSync(caFile, 'utf8')] : undefined
const registryAgent = ca ? new (require('node:https').Agent)({ ca, keepAlive: true }) : undefined
const splitCreds = (v) => {
  const i = v.indexOf(':')
  return [v.slice(0, i), v.slice(i + 1)]
}
let sasl
if (process.env.SLUICE_KAFKA_SASL) {
  const [mechanism, rest] = splitCreds(process.env.SLUICE_KAFKA_SASL)
  const [username, password] = splitCreds(rest)
  sasl = { mechanism, username, password }
}
let registryAuth
if (process.env.SLUICE_REGISTRY_AUTH) {
  const [username, password] = splitCreds(process.env.SLUICE_REGISTRY_AUTH)
  registryAuth = { username, password }
}
// newRegistry is a library client of the registry at url with the configured TLS trust and
// credentials.
const newRegistry = (url, clientId, withAuth = true) =>
  new SchemaRegistry({ host: url, clientId, agent: registryAgent, auth: withAuth ? registryAuth : undefined })

const fail = (msg) => {
  throw new Error(msg)
}

// ---- the schemas ---------------------------------------------------------------------------

const avro = {
  type: SchemaType.AVRO,
  subjects: ['com.acme.Currency', 'com.acme.Money', 'node-avro-orders-value'],
  schemas: [
    { type: 'enum', name: 'Currency', namespace: 'com.acme', symbols: ['EUR', 'USD', 'JPY'] },
    {
      type: 'record', name: 'Money', namespace: 'com.acme',
      fields: [{ name: 'cents', type: 'long' }, { name: 'currency', type: 'com.acme.Currency' }],
    },
    {
      type: 'record', name: 'Order', namespace: 'com.acme.orders',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'total', type: 'com.acme.Money' },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    },
  ].map((s) => JSON.stringify(s)),
  // the reference names each schema uses for the one before it
  refNames: ['com.acme.Currency', 'com.acme.Money'],
  topic: 'node-avro-orders',
  values: [
    { id: 1, total: { cents: 1250, currency: 'EUR' }, tags: ['a', 'b'], note: null },
    { id: 2, total: { cents: 99, currency: 'JPY' }, tags: [], note: 'gift' },
    { id: 9007199254740000, total: { cents: -5, currency: 'USD' }, tags: ['ü', '€'], note: '' },
  ],
  // a value the schema refuses: encode must throw before anything is produced
  invalid: { id: 3, total: { cents: 1, currency: 'GBP' }, tags: [], note: null },
}

// Order v2 adds a field with a default: BACKWARD compatible with v1. Order v3 adds one without a
// default: v3 cannot read v1's data, so the registry refuses it (409). The reader is v2 written
// out in full (the named types inline), as a consumer holding its own copy would.
const orderV1 = JSON.parse(avro.schemas[2])
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: 'channel', type: 'string', default: 'web' }] }
const orderV3 = { ...orderV2, fields: [...orderV2.fields, { name: 'priority', type: 'int' }] }
const orderV2Reader = {
  ...orderV2,
  fields: orderV2.fields.map((f) => (f.name !== 'total' ? f : {
    ...f,
    type: { ...JSON.parse(avro.schemas[1]), fields: [{ name: 'cents', type: 'long' }, { name: 'currency', type: JSON.parse(avro.schemas[0]) }] },
  })),
}
const orderV2Value = { id: 4, total: { cents: 1, currency: 'USD' }, tags: ['v2'], note: null, channel: 'app' }

const base = 'https://sluice.example/schemas/'
const json = {
  type: SchemaType.JSON,
  subjects: ['node-json-country', 'node-json-address', 'node-json-customers-value'],
  schemas: [
    {
      $schema: 'http://json-schema.org/draft-07/schema#', $id: base + 'country.json',
      type: 'string', enum: ['DE', 'FR', 'US'],
    },
    {
      $schema: 'http://json-schema.org/draft-07/schema#', $id: base + 'address.json',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' }, country: { $ref: base + 'country.json' } },
      required: ['street', 'city', 'country'],
      additionalProperties: false,
    },
    {
      $schema: 'http://json-schema.org/draft-07/schema#', $id: base + 'customer.json',
      type: 'object',
      properties: {
        name: { type: 'string' },
        age: { type: 'integer', minimum: 0 },
        // relative to this schema's $id: the reference's name is resolved against it too
        addresses: { type: 'array', items: { $ref: 'address.json' } },
        vip: { type: 'boolean' },
      },
      required: ['name', 'addresses'],
    },
  ].map((s) => JSON.stringify(s)),
  refNames: [base + 'country.json', 'address.json'],
  topic: 'node-json-customers',
  values: [
    { name: 'Ada', age: 36, addresses: [{ street: 'Main St 1', city: 'Berlin', country: 'DE' }], vip: true },
    { name: 'Bob', addresses: [] },
    {
      name: 'Zoë', age: 0, vip: false,
      addresses: [{ street: 'Rue 2', city: 'Paris', country: 'FR' }, { street: '5th Av', city: 'NYC', country: 'US' }],
    },
  ],
  invalid: { name: 'Eve', addresses: [{ street: 'x', city: 'y', country: 'XX' }] },
}

const proto = {
  type: SchemaType.PROTOBUF,
  subjects: ['acme/common/currency.proto', 'acme/common/money.proto', 'node-proto-orders-value'],
  schemas: [
    `syntax = "proto3";
package acme.common;

// the library encodes with a schema's first message, so the file starts with one
message CurrencyInfo {
  Currency code = 1;
  string symbol = 2;
}

enum Currency {
  CURRENCY_UNSPECIFIED = 0;
  EUR = 1;
  USD = 2;
}
`,
    `syntax = "proto3";
package acme.common;

import "acme/common/currency.proto";

message Money {
  int64 cents = 1;
  Currency currency = 2;
}
`,
    `syntax = "proto3";
package acme.orders;

import "acme/common/money.proto";

message Order {
  int64 id = 1;
  acme.common.Money total = 2;
  repeated string tags = 3;
  string note = 4;
}
`,
  ],
  refNames: ['acme/common/currency.proto', 'acme/common/money.proto'],
  topic: 'node-proto-orders',
  // protobufjs takes enums as numbers; every field is set (proto3 drops defaults on the wire)
  values: [
    { id: 1, total: { cents: 1250, currency: 1 }, tags: ['a', 'b'], note: 'first' },
    { id: 2, total: { cents: 99, currency: 2 }, tags: ['c'], note: 'ü€' },
    { id: 9007199254740991, total: { cents: -5, currency: 1 }, tags: ['x', 'y', 'z'], note: 'big' },
  ],
  invalid: { id: 'not a number', total: { cents: 1, currency: 1 }, tags: [], note: '' },
}

const formats = [avro, json, proto]

// ---- helpers -------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// register retries while the registry's writer is being elected (5xx, connection refused),
// for up to 60 s, as a client starting beside a fresh cluster would.
async function register(registry, schema, opts) {
  const deadline = Date.now() + 60000
  for (;;) {
    try {
      return await registry.register(schema, opts)
    } catch (err) {
      const status = err && err.status
      const transient = (status && status >= 500) || /ECONNREFUSED|ECONNRESET|socket hang up/.test(String(err && err.message))
      if (!transient || Date.now() > deadline) {
        throw new Error(`register ${opts.subject}: ${err && err.message} (status ${status})`)
      }
      await sleep(200)
    }
  }
}

// plain turns a decoded value into plain data: avsc records are class instances, protobufjs
// messages are converted by their type (longs as numbers, enums as numbers, every repeated
// field as an array).
function plain(value, schema) {
  if (schema && schema.message) {
    return schema.message.toObject(value, { longs: Number, enums: Number, arrays: true })
  }
  return JSON.parse(JSON.stringify(value))
}

// ---- the run -------------------------------------------------------------------------------

async function registerChain(registry, f) {
  const ids = []
  const versions = []
  for (let i = 0; i < f.schemas.length; i++) {
    const schema = { type: f.type, schema: f.schemas[i] }
    if (i > 0) {
      schema.references = [{ name: f.refNames[i - 1], subject: f.subjects[i - 1], version: versions[i - 1] }]
    }
    const { id } = await register(registry, schema, { subject: f.subjects[i] })
    if (!Number.isInteger(id) || id <= 0) fail(`${f.subjects[i]}: register answered id ${id}`)
    // registering the same schema again is answered with the same id and adds no version
    const again = await register(registry, schema, { subject: f.subjects[i] })
    if (again.id !== id) fail(`${f.subjects[i]}: registered again got id ${again.id}, first ${id}`)
    const latest = await registry.getLatestSchemaId(f.subjects[i])
    if (latest !== id) fail(`${f.subjects[i]}: getLatestSchemaId ${latest}, register answered ${id}`)
    const byVersion = await registry.getRegistryId(f.subjects[i], 1)
    if (byVersion !== id) fail(`${f.subjects[i]}: getRegistryId(version 1) ${byVersion}, register answered ${id}`)
    if (i === 0) {
      // lookup by schema (the library sends no references, so only the unreferencing schema)
      const looked = await registry.getRegistryIdBySchema(f.subjects[i], schema)
      if (looked !== id) fail(`${f.subjects[i]}: getRegistryIdBySchema ${looked}, register answered ${id}`)
    }
    if (i > 0) {
      // the library's lookup sends no references, so a schema that needs them cannot be
      // parsed: 422 (42201), as Confluent's registry answers
      let lookupErr = null
      try {
        await registry.getRegistryIdBySchema(f.subjects[i], schema)
      } catch (err) {
        lookupErr = err
      }
      if (!lookupErr || lookupErr.status !== 422) {
        fail(`${f.subjects[i]}: getRegistryIdBySchema without references: want 422, got ${lookupErr ? lookupErr.status + ' ' + lookupErr.message : 'an id'}`)
      }
    }
    if (i === 0 && f.type === SchemaType.AVRO) {
      // without a subject the library names it <namespace>.<name>: the subject used above
      const auto = await register(registry, schema, {})
      if (auto.id !== id) fail(`${f.subjects[i]}: registered without a subject got id ${auto.id}, want ${id}`)
    }
    ids.push(id)
    versions.push(1)
  }
  return ids
}

async function main() {
  const producerRegistry = newRegistry(registryURL, 'sluice-node-producer')
  const kafka = new Kafka({
    clientId: 'sluice-node-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
    ssl: ca ? { ca } : undefined, sasl,
    // generous for a loaded 2-core machine running other tests beside this one
    connectionTimeout: 10000, requestTimeout: 60000,
  })
  const admin = kafka.admin()
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  const consumer = kafka.consumer({ groupId: 'sluice-node-registry', sessionTimeout: 30000, heartbeatInterval: 1000 })
  const report = { formats: {} }
  try {
    await admin.connect()
    const created = await admin.createTopics({
      waitForLeaders: true, timeout: 30000,
      topics: formats.map((f) => ({
        topic: f.topic, numPartitions: 1, replicationFactor,
        configEntries: [{ name: 'sluice.value.schema.id.validation', value: 'true' }],
      })),
    })
    if (!created) fail('createTopics: topics already existed')

    if (registryAuth) {
      // without credentials the registry answers 401, which the library marks unauthorized
      let denied = null
      try {
        await newRegistry(registryURL, 'sluice-node-anonymous', false).getLatestSchemaId('any-subject')
      } catch (err) {
        denied = err
      }
      if (!denied || denied.status !== 401 || !denied.unauthorized) {
        fail(`a registry client without credentials: want 401, got ${denied ? denied.status + ' ' + denied.message : 'an answer'}`)
      }
      report.unauthenticatedRefused = true
    }

    for (const f of formats) {
      const ids = await registerChain(producerRegistry, f)
      const id = ids[ids.length - 1]
      // the ids of the chain are distinct and increase (a new schema gets the highest id so far plus one)
      for (let i = 1; i < ids.length; i++) {
        if (ids[i] <= ids[i - 1]) fail(`${f.type}: ids ${ids} do not increase`)
      }
      const buffers = []
      for (const v of f.values) {
        const b = await producerRegistry.encode(id, v)
        if (b[0] !== 0 || b.readInt32BE(1) !== id) fail(`${f.type}: encoded value does not start with magic 0 and id ${id}`)
        buffers.push(b)
      }
      let refused = null
      try {
        await producerRegistry.encode(id, f.invalid)
      } catch (err) {
        refused = err
      }
      if (!refused) fail(`${f.type}: encode accepted a value the schema forbids: ${JSON.stringify(f.invalid)}`)
      report.formats[f.type] = { subjects: f.subjects, ids }
      await producer.connect()
      await producer.send({
        topic: f.topic,
        compression: f === json ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: buffers.map((b, i) => ({ key: `k${i}`, value: b })),
      })
    }

    // Evolution: v2 of the Avro order registered under the same subject with the same reference.
    const orderSubject = avro.subjects[2]
    const orderRefs = [{ name: avro.refNames[1], subject: avro.subjects[1], version: 1 }]
    const v1ID = report.formats.AVRO.ids[2]
    const v2 = await register(producerRegistry, { type: SchemaType.AVRO, schema: JSON.stringify(orderV2), references: orderRefs }, { subject: orderSubject })
    if (v2.id <= v1ID) fail(`Order v2 got id ${v2.id}, v1 has ${v1ID}`)
    const latest = await producerRegistry.getLatestSchemaId(orderSubject)
    if (latest !== v2.id) fail(`after v2, getLatestSchemaId ${latest}, want ${v2.id}`)
    const byVersion2 = await producerRegistry.getRegistryId(orderSubject, 2)
    const byVersion1 = await producerRegistry.getRegistryId(orderSubject, 1)
    if (byVersion2 !== v2.id || byVersion1 !== v1ID) fail(`versions 1 and 2 have ids ${byVersion1} ${byVersion2}, want ${v1ID} ${v2.id}`)
    // v3 is checked (the library's compatible endpoint) and refused
    const v3Body = { schema: JSON.stringify(orderV3), references: orderRefs }
    const compat = (await producerRegistry.api.Subject.compatible({ subject: orderSubject, body: v3Body })).data()
    if (compat.is_compatible !== false) fail(`Order v3 compatibility answer ${JSON.stringify(compat)}, want is_compatible false`)
    let refused = null
    try {
      await producerRegistry.register({ type: SchemaType.AVRO, ...v3Body }, { subject: orderSubject })
    } catch (err) {
      refused = err
    }
    if (!refused || refused.status !== 409 || !/incompatible/.test(refused.message)) {
      fail(`registering the incompatible Order v3: want status 409 "incompatible", got ${refused ? refused.status + ' ' + refused.message : 'an id'}`)
    }
    // the library compares its wanted level with the subject's (set to BACKWARD at v1)
    let mismatch = null
    try {
      await producerRegistry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderV2), references: orderRefs }, { subject: orderSubject, compatibility: 'FULL' })
    } catch (err) {
      mismatch = err
    }
    if (!mismatch || !/FULL != BACKWARD/.test(mismatch.message)) {
      fail(`register with FULL on a BACKWARD subject: want the library's mismatch error, got ${mismatch ? mismatch.message : 'an id'}`)
    }
    await producer.send({ topic: avro.topic, messages: [{ key: 'k3', value: await producerRegistry.encode(v2.id, orderV2Value) }] })
    avro.values.push(orderV2Value)
    report.formats.AVRO.evolved = v2.id

    // the topics validate schema ids: a value without one is refused with INVALID_RECORD
    let invalid = null
    try {
      await producer.send({ topic: avro.topic, messages: [{ value: Buffer.from('{"no":"schema id"}') }] })
    } catch (err) {
      invalid = err
    }
    const invalidType = invalid && (invalid.type || (invalid.cause && invalid.cause.type))
    if (invalidType !== 'INVALID_RECORD') {
      fail(`a value without a schema id: want INVALID_RECORD, got ${invalid ? invalid.name + ' ' + invalidType + ' ' + invalid.message : 'accepted'}`)
    }

    // A consumer that has never seen the schemas decodes through the registry alone.
    const consumerRegistry = newRegistry(consumerRegistryURL, 'sluice-node-consumer')
    // an id nobody registered: the registry answers 404 (40403), which decode passes on
    let unknown = null
    try {
      await consumerRegistry.decode(Buffer.from([0, 0, 0, 0x27, 0x0f, 0x02]))
    } catch (err) {
      unknown = err
    }
    if (!unknown || unknown.status !== 404 || !/not found/i.test(unknown.message)) {
      fail(`decoding schema id 9999: want 404 not found, got ${unknown ? unknown.status + ' ' + unknown.message : 'a value'}`)
    }
    const want = formats.reduce((n, f) => n + f.values.length, 0)
    const got = new Map(formats.map((f) => [f.topic, []]))
    const rawAvro = []
    let count = 0
    let consumeError = null
    let done
    const finished = new Promise((resolve) => (done = resolve))
    await consumer.connect()
    await consumer.subscribe({ topics: formats.map((f) => f.topic), fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        try {
          const decoded = await consumerRegistry.decode(message.value)
          const id = message.value.readInt32BE(1)
          const schema = await consumerRegistry.getSchema(id)
          if (topic === avro.topic) rawAvro.push(message.value)
          got.get(topic).push({ key: message.key.toString(), offset: message.offset, id, value: plain(decoded, schema) })
        } catch (err) {
          consumeError = consumeError || err
        }
        if (++count >= want || consumeError) done()
      },
    })
    const timer = setTimeout(done, 45000)
    await finished
    clearTimeout(timer)
    if (consumeError) throw consumeError

    for (const f of formats) {
      const records = got.get(f.topic)
      if (records.length !== f.values.length) {
        fail(`${f.topic}: consumed ${records.length} records, produced ${f.values.length}`)
      }
      records.forEach((r, i) => {
        const wantID = i < 3 ? report.formats[f.type].ids[f.schemas.length - 1] : report.formats[f.type].evolved
        if (r.key !== `k${i}` || r.offset !== String(i)) fail(`${f.topic}: record ${i} has key ${r.key} offset ${r.offset}`)
        if (r.id !== wantID) fail(`${f.topic}: record ${i} carries schema id ${r.id}, want ${wantID}`)
        try {
          assert.deepStrictEqual(r.value, f.values[i])
        } catch (err) {
          fail(`${f.topic}: record ${i} decoded differs from what was sent:\n${err.message}`)
        }
      })
      report.formats[f.type].records = records.length
    }

    // Every Avro record read as Order v2 (the library resolves the registry's writer schema,
    // fetched by id with its references, against the reader): v1's records get v2's default.
    const readerOpts = { [SchemaType.AVRO]: { readerSchema: orderV2Reader } }
    const asV2 = await Promise.all(rawAvro.map((b) => consumerRegistry.decode(b, readerOpts)))
    const wantV2 = avro.values.map((v) => ({ channel: 'web', ...v }))
    try {
      assert.deepStrictEqual(asV2.map((v) => plain(v)), wantV2)
    } catch (err) {
      fail(`Avro records read with Order v2 as the reader schema differ:\n${err.message}`)
    }

    report.ok = true
    console.log(JSON.stringify(report))
  } finally {
    await consumer.disconnect().catch(() => {})
    await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAIL: ${err && err.stack ? err.stack : err}`)
    process.exit(1)
  },
)
