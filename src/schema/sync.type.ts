import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SafeInt } from './scalars.js';

export enum PeerStatusEnum {
  CONNECTED = 'connected',
  SYNCING = 'syncing',
  DISCONNECTED = 'disconnected',
  ERROR = 'error',
}
registerEnumType(PeerStatusEnum, { name: 'PeerStatus' });

@ObjectType({ description: 'A node this one pulls from, and how far it has got.' })
export class SyncPeer {
  @Field({ description: "The peer's GraphQL URL." }) url!: string;
  @Field({ description: "Origin of the peer's ledger." }) origin!: string;
  @Field({ description: 'The pinned key its checkpoints must be signed with.' }) verifierKey!: string;
  @Field({ description: '`config` (CHAINPROOF_PEERS) or `admin` (createPeer).' }) source!: string;
  @Field(() => PeerStatusEnum) status!: PeerStatusEnum;
  @Field({ description: 'It contradicted a checkpoint it signed before; it is no longer pulled.' }) flagged!: boolean;
  @Field(() => String, { nullable: true }) flaggedReason!: string | null;
  @Field(() => SafeInt, { description: "Leaves of the peer's log this node has taken." }) position!: number;
  @Field(() => Date, { nullable: true, description: 'When the last sync ended, successful or not.' }) lastSyncAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When a sync last succeeded: a peer failing for longer than you can tolerate is behind.' }) lastSuccessAt!: Date | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Int) errorCount!: number;
  @Field(() => SafeInt) eventsReceived!: number;
  @Field(() => SafeInt, { description: 'Events this node served to the peer when it pulled.' }) eventsSent!: number;
  @Field(() => Int, { nullable: true, description: 'Round trip of the last checkpoint request, ms.' }) latencyMs!: number | null;
  @Field(() => SafeInt, { nullable: true, description: "Tree size of the peer's last checked checkpoint." }) lastCheckpointSize!: number | null;
  @Field(() => SafeInt, { nullable: true, description: "Block height of the peer's last checked checkpoint." }) lastCheckpointHeight!: number | null;
  @Field(() => Date, { nullable: true }) nextSyncAt!: Date | null;
}

@ObjectType()
export class SyncStatus {
  @Field({ description: 'The sync service runs in this process.' }) running!: boolean;
  @Field({ description: 'Peers are pulled on a timer (CHAINPROOF_SYNC).' }) autoSync!: boolean;
  @Field(() => Int) intervalMs!: number;
  @Field({ description: 'A sync is in progress now.' }) syncing!: boolean;
  @Field(() => [SyncPeer]) peers!: SyncPeer[];
}

@ObjectType()
export class SyncError {
  @Field() code!: string;
  @Field() message!: string;
}

@ObjectType({ description: 'What one sync with one peer did.' })
export class PeerSyncResult {
  @Field() peer!: string;
  @Field() ok!: boolean;
  @Field(() => SyncError, { nullable: true }) error!: SyncError | null;
  @Field(() => SafeInt, { description: 'Events appended to the local ledger.' }) received!: number;
  @Field(() => SafeInt, { description: 'Events the local ledger held already.' }) skipped!: number;
  @Field(() => SafeInt) fromPosition!: number;
  @Field(() => SafeInt) toPosition!: number;
  @Field(() => SafeInt) checkpointSize!: number;
  @Field(() => Int) durationMs!: number;
}
