// The read as SignalWire's and AWS's docs show it: the secret fetched once
// with GetSecretValue and kept at module scope, then the Compatibility SDK's
// RestClient(...).conferences(c).participants(p).fetch().
'use strict';
const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
const { RestClient } = require('@signalwire/compatibility-api');

const sm = new SecretsManagerClient({});
let client;

async function signalwire() {
  if (!client) {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: process.env.SIGNALWIRE_SECRET_ID }));
    const s = JSON.parse(out.SecretString);
    // The SDK's base is https://<space>/2010-04-01; the sandbox serves the
    // reference's /api/laml/2010-04-01 only, hence the suffix.
    client = RestClient(s.project_id, s.api_token, { signalwireSpaceUrl: s.space_host + '/api/laml' });
  }
  return client;
}

exports.handler = async (event) => {
  const { conference_sid, call_sid } = event.pathParameters;
  const participant = await (await signalwire()).conferences(conference_sid).participants(call_sid).fetch();
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(participant) };
};
