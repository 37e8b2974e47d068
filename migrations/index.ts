import { LedgerCore1732000000000 } from './1732000000000-LedgerCore.js';
import { ApiKeys1732100000000 } from './1732100000000-ApiKeys.js';
import { AnalyticsIndexes1732200000000 } from './1732200000000-AnalyticsIndexes.js';
import { KnownDids1732300000000 } from './1732300000000-KnownDids.js';
import { Governance1732400000000 } from './1732400000000-Governance.js';
import { Provenance1732500000000 } from './1732500000000-Provenance.js';
import { Rules1732600000000 } from './1732600000000-Rules.js';
import { Witness1732700000000 } from './1732700000000-Witness.js';
import { RulesBuiltins1732800000000 } from './1732800000000-RulesBuiltins.js';
import { Syndication1732900000000 } from './1732900000000-Syndication.js';
import { IncrementalStateRoot1733000000000 } from './1733000000000-IncrementalStateRoot.js';
import { RangeIndexes1733100000000 } from './1733100000000-RangeIndexes.js';
import { AuditContributions1733200000000 } from './1733200000000-AuditContributions.js';
import { AuditAgentOrder1733300000000 } from './1733300000000-AuditAgentOrder.js';
import { LedgerKeyOnEventsOnly1733400000000 } from './1733400000000-LedgerKeyOnEventsOnly.js';
import { AuditTimeByLeaf1733500000000 } from './1733500000000-AuditTimeByLeaf.js';
import { BlockDifficultyBounds1733600000000 } from './1733600000000-BlockDifficultyBounds.js';
import { UsedRequestSignatures1733700000000 } from './1733700000000-UsedRequestSignatures.js';
import { EventsKeyedByHead1733800000000 } from './1733800000000-EventsKeyedByHead.js';
import { SyncPins1733900000000 } from './1733900000000-SyncPins.js';
import { KeyAgents1734000000000 } from './1734000000000-KeyAgents.js';
import { WitnessTreeHash1734100000000 } from './1734100000000-WitnessTreeHash.js';

/** In order. Listed by hand: ESM builds cannot glob-load migration classes reliably. */
export const migrations = [
  LedgerCore1732000000000,
  ApiKeys1732100000000,
  AnalyticsIndexes1732200000000,
  KnownDids1732300000000,
  Governance1732400000000,
  Provenance1732500000000,
  Rules1732600000000,
  Witness1732700000000,
  RulesBuiltins1732800000000,
  Syndication1732900000000,
  IncrementalStateRoot1733000000000,
  RangeIndexes1733100000000,
  AuditContributions1733200000000,
  AuditAgentOrder1733300000000,
  LedgerKeyOnEventsOnly1733400000000,
  AuditTimeByLeaf1733500000000,
  BlockDifficultyBounds1733600000000,
  UsedRequestSignatures1733700000000,
  EventsKeyedByHead1733800000000,
  SyncPins1733900000000,
  KeyAgents1734000000000,
  WitnessTreeHash1734100000000,
];
