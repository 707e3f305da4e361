// A request a button starts: whether it is running, and what the server said when it
// failed (for the button's `disabled` and the page's alert).
import { errorText } from "./api";

export class Action {
  busy = $state(false);
  error = $state("");

  /** Runs `step`; true when it succeeded. */
  async run(step: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.error = "";
    try {
      await step();
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
