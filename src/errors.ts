/**
 * An error in what the user gave colinet (a missing file, an unreadable format, an image that
 * is not a chest CT in HU, a malformed manifest). The command prints its message without a
 * stack trace and exits with status 2.
 */
export class InputError extends Error {
  override name = 'InputError'
}

/** Exit status of a command that rejected its input. */
export const INPUT_ERROR_EXIT_CODE = 2
