import type { CreateContractInput } from './contract-input.js';

/**
 * Contracts every server installs at its first start, so that contributions are rewarded and
 * quality and governance are watched without an admin writing CEL first. They are ordinary
 * contracts: admins (or proposals) deactivate them or retune them with setContractParameters,
 * and a restart never reinstalls or resets one.
 */
export const BUILTIN_CONTRACTS: ReadonlyArray<{ builtin: string; input: CreateContractInput }> = [
  {
    builtin: 'contribution-rewards',
    input: {
      name: 'Contribution rewards',
      description: 'Mints tokens to the actor of each contribution event; the amounts are parameters. A test run counts when its result is the success result.',
      trigger: { eventTypes: ['prompt_created', 'bug_report', 'quality_improvement', 'peer_review', 'test_run'] },
      condition: 'event.type != "test_run" || event.result == contract.params.testSuccessResult',
      actions: [{
        mintTokens: {
          to: 'event.actor',
          amountExpr: 'event.type == "test_run" ? contract.params.rewards.test_success : contract.params.rewards[event.type]',
          reason: 'contribution reward',
        },
      }],
      // Reward farming: one firing per trigger event (the consumer's exactly-once), and per actor a day at most this many.
      limits: { maxFiringsPerActor: 50, windowSeconds: 86_400 },
      parameters: {
        rewards: { prompt_created: 10, bug_report: 15, quality_improvement: 20, peer_review: 8, test_success: 5 },
        testSuccessResult: 'success',
      },
    },
  },
  {
    builtin: 'quality-monitor',
    input: {
      name: 'Quality-assurance monitor',
      description: 'Raises a warning when, over the last hour, enough test runs were reported and the share that succeeded fell below the threshold. At most one alert an hour per reporter.',
      trigger: { eventTypes: ['test_run'] },
      condition: 'count("test_run", 3600) >= contract.params.minRuns && ratio("test_run", "success", 3600) < contract.params.threshold',
      actions: [{ raiseAlert: { severity: 'WARNING', message: 'test success rate over the last hour is below the quality threshold' } }],
      limits: { maxFiringsPerActor: 1, windowSeconds: 3_600 },
      parameters: { threshold: 0.8, minRuns: 5 },
    },
  },
  {
    builtin: 'governance-automation',
    input: {
      name: 'Governance automation',
      description: 'Opens a proposal to respond when a critical incident or a security breach is reported (at most one a day per reporter).',
      trigger: { eventTypes: ['critical_incident', 'security_breach'] },
      condition: 'true',
      actions: [{
        openProposal: {
          template: {
            title: 'Respond to a critical event',
            description: 'Opened by the governance automation contract when a critical event was reported; vote to acknowledge and fund the response.',
            votingType: 'WEIGHTED',
            votingDelay: 0,
            votingPeriod: 3 * 86_400,
            quorum: 0.1,
            threshold: 0.5,
            timelock: 86_400,
            actions: [],
          },
        },
      }],
      limits: { maxFiringsPerActor: 1, windowSeconds: 86_400 },
      parameters: {},
    },
  },
];
