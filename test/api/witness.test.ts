import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed, openNote, parseCosignerKey, verifyCosignature } from '../../src/ledger/note/index.js';
import { serverBackend } from '../support/db.js';
import { TEST_SEED } from '../support/ledger.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const b = await serverBackend();
  cleanup = b.cleanup;
  // The node witnesses its own log here; in a deployment it witnesses its peers'.
  const ownKey = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex')).verifierKey;
  server = await startServer({ ...b.env, CHAINPROOF_WITNESS_LOGS: ownKey });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const post = async (body: string) => {
  const res = await fetch(`${server.url.replace(/\/graphql$/, '')}/witness/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
};

// The example request of c2sp.org/tlog-witness, verbatim.
const SPEC_EXAMPLE = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

describe('POST /witness/add-checkpoint', () => {
  it('answers the specification\'s example request for a log it does not know with 404', async () => {
    expect((await post(SPEC_EXAMPLE)).status).toBe(404);
  });

  it('cosigns a checkpoint of a log it trusts, with a key Ledger.witnessKey shows, and then reports its size on a stale request', async () => {
    await gql(server.url, `mutation { appendEvents(inputs: [{type: "t", actor: "a"}, {type: "t", actor: "b"}]) { index } }`);
    const cp = await gql(server.url, `mutation { createCheckpoint { note } }`);
    const note: string = cp.data.createCheckpoint.note;
    const witnessKey: string = (await gql(server.url, `{ ledger { witnessKey } }`)).data.ledger.witnessKey;
    const ok = await post(`old 0\n\n${note}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^— test\.chainproof\/witness [A-Za-z0-9+/=]+\n$/);
    expect(verifyCosignature(openNote(note).text, ok.body, parseCosignerKey(witnessKey))).not.toBeNull();
    const stale = await post(`old 0\n\n${note}`);
    expect(stale.status).toBe(409);
    expect(stale.type).toBe('text/x.tlog.size');
    expect(stale.body).toMatch(/^\d+\n$/);
  });
});
