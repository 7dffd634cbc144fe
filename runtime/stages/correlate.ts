import { hourIndexOf, type CountedEvent } from '../storage/layout.js';
import { dimensionsOf } from './enrich.js';
import type { ClickFact, ConversionFact, ImpressionFact, View } from './facts.js';

export interface CorrelationRules {
  attributionWindowMs: number;
  conversionWindowMs: number;
  /** How far apart (Kafka arrival time) two partners may arrive and still be joined. */
  latenessMs: number;
}

/** Contract §2.4: 0 <= click.ts - impression.ts <= attribution window, both within the lateness bound. */
export function clickAttributed(click: ClickFact, impression: ImpressionFact, rules: CorrelationRules): boolean {
  const delay = click.ts - impression.ts;
  return delay >= 0 && delay <= rules.attributionWindowMs && Math.abs(click.arrivalMs - impression.arrivalMs) <= rules.latenessMs;
}

export function conversionAttributed(conversion: ConversionFact, click: ClickFact, rules: CorrelationRules): boolean {
  const delay = conversion.ts - click.ts;
  return delay >= 0 && delay <= rules.conversionWindowMs && Math.abs(conversion.arrivalMs - click.arrivalMs) <= rules.latenessMs;
}

export interface Correlation {
  counted: CountedEvent[];
  attributedClicks: string[];
  attributedConversions: string[];
}

/**
 * Every counted event the view supports, with the best dimensions the view knows. Pure and
 * monotone: a view with more facts yields a superset, never a contradiction (an event counted on
 * less knowledge differs only by being unenriched), which is what lets concurrent and replayed
 * batches write their results without coordination (docs/exactly-once.md).
 */
export function correlate(view: View, rules: CorrelationRules): Correlation {
  const counted: CountedEvent[] = [];
  const attributedClicks: string[] = [];
  const attributedConversions: string[] = [];
  for (const [impressionId, impression] of view.impressions) {
    const dims = dimensionsOf(view.bids.get(impression.requestId));
    counted.push({ kind: 'i', campaignId: impression.campaignId, hourIndex: hourIndexOf(impression.ts), eventId: impressionId, amount: impression.priceMicros, ...dims });
  }
  const clickImpressions = new Map<string, ImpressionFact>();
  for (const [clickId, click] of view.clicks) {
    const impression = view.impressions.get(click.impressionId);
    if (!impression || !clickAttributed(click, impression, rules)) continue;
    clickImpressions.set(clickId, impression);
    attributedClicks.push(clickId);
    const dims = dimensionsOf(view.bids.get(impression.requestId));
    counted.push({ kind: 'c', campaignId: impression.campaignId, hourIndex: hourIndexOf(click.ts), eventId: clickId, amount: 0, ...dims });
  }
  for (const [conversionId, conversion] of view.conversions) {
    const click = view.clicks.get(conversion.clickId);
    const impression = clickImpressions.get(conversion.clickId);
    if (!click || !impression || !conversionAttributed(conversion, click, rules)) continue;
    attributedConversions.push(conversionId);
    const dims = dimensionsOf(view.bids.get(impression.requestId));
    counted.push({ kind: 'v', campaignId: impression.campaignId, hourIndex: hourIndexOf(conversion.ts), eventId: conversionId, amount: conversion.valueMicros, ...dims });
  }
  return { counted, attributedClicks, attributedConversions };
}
