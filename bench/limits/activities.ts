export const ceilingActivities = {
  async noop(): Promise<void> {},
};
export type CeilingActivities = typeof ceilingActivities;
