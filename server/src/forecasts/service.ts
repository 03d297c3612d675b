/**
 * The acquisition forecast as a service: learns a ForecastModel (packages/core/src/forecast.ts) from the store's
 * own history (each catalog title's viewing curve, from the analytics tables) and answers requests with it. The
 * model is refitted only when new events have been stored since it was fitted.
 */
import { ForecastModel, type CatalogTitle, type ForecastRequest, type ForecastResponse, type TitleHistory } from '@marquee/core';
import type { AnalyticsService } from '../analytics/service.ts';

const DAY_MS = 86_400_000;

export class NotEnoughHistoryError extends Error {}

export class ForecastService {
  private fitted: { key: string; model: ForecastModel } | null = null;
  private readonly byId: ReadonlyMap<string, CatalogTitle>;

  constructor(
    private readonly analytics: AnalyticsService,
    catalog: readonly CatalogTitle[],
  ) {
    this.byId = new Map(catalog.map((t) => [t.id, t]));
  }

  /** The catalog titles' histories as the store shows them (titles outside the catalog have no metadata: skipped). */
  async history(): Promise<{ endTs: number | null; titles: TitleHistory[] }> {
    const curves = await this.analytics.titleCurves();
    const titles: TitleHistory[] = [];
    for (const c of curves.titles) {
      const t = this.byId.get(c.titleId);
      if (!t) continue;
      titles.push({ titleId: t.id, name: t.name, genres: t.genres, year: t.year, runtimeMin: t.runtimeMin, launchTs: c.launchDay * DAY_MS, daily: c.daily });
    }
    return { endTs: curves.endDay === null ? null : curves.endDay * DAY_MS, titles };
  }

  async model(): Promise<ForecastModel> {
    await this.analytics.refresh();
    const key = await this.analytics.version();
    if (this.fitted?.key === key) return this.fitted.model;
    const h = await this.history();
    if (h.endTs === null) throw new NotEnoughHistoryError('not enough history to forecast: the store has no plays yet');
    let model: ForecastModel;
    try {
      model = ForecastModel.fit(h.titles, h.endTs);
    } catch (err) {
      throw new NotEnoughHistoryError((err as Error).message);
    }
    this.fitted = { key, model };
    return model;
  }

  async forecast(req: ForecastRequest): Promise<ForecastResponse> {
    return (await this.model()).forecast(req);
  }
}
