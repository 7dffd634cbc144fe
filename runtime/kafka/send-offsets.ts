import type { Transaction } from 'kafkajs';

export interface OffsetsToSend {
  topic: string;
  partitions: { partition: number; offset: string }[];
}

/**
 * The group-coordinator answers that mean "not yet, ask again": the coordinator is loading the
 * group (14), is not available (15) or moved (16). They are common on a fresh or restarted broker,
 * while `__consumer_offsets` is created or loaded. kafkajs 2.2.4 means to retry 16 itself but looks
 * for the type 'NOT_COORDINATOR' while its own error table names code 16 'NOT_COORDINATOR_FOR_GROUP',
 * and it does not retry 14 or 15 inside a transaction at all, so they escape `sendOffsets`.
 */
const COORDINATOR_NOT_READY = new Set(['GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP']);

export function isCoordinatorNotReady(error: unknown): boolean {
  return COORDINATOR_NOT_READY.has((error as { type?: unknown } | null)?.type as string);
}

/**
 * `transaction.sendOffsets`, repeated in the same transaction while the group coordinator is not
 * ready, with a growing pause, for at most `budgetMs`. Repeating is safe: a second AddOffsetsToTxn
 * for the same group and a second TxnOffsetCommit replace the first.
 */
export async function sendOffsetsWhenCoordinatorReady(
  txn: Transaction,
  consumerGroupId: string,
  topics: OffsetsToSend[],
  budgetMs = 30_000,
): Promise<void> {
  const end = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await txn.sendOffsets({ consumerGroupId, topics });
      return;
    } catch (error) {
      if (!isCoordinatorNotReady(error) || Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
    }
  }
}
