using System.Text.Json;

namespace EtlStream.Formats.Json;

/// <summary>
/// Says what a <see cref="JsonException"/> from <see cref="Utf8JsonReader"/> means in the words of our errors:
/// <c>expected ',' or '}'</c> rather than the reader's <c>'x' is invalid after a value. Expected either ',', '}', or ']'.
/// LineNumber: 0 | BytePositionInLine: 87.</c> (the position is given separately, as file:line and byte).
/// </summary>
internal static class JsonErrors
{
    /// <param name="container">'}' or ']' when the failing token was read inside an object or array, else ' '.</param>
    public static string Reason(JsonException e, char container, JsonForm form)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        if (message.Contains("Expected either ',', '}', or ']'", StringComparison.Ordinal))
        {
            return container switch
            {
                '}' => "expected ',' or '}'",
                ']' => "expected ',' or ']'",
                _ => "expected ',', '}' or ']'",
            };
        }

        if (message.Contains("Expected a ':'", StringComparison.Ordinal))
        {
            return "expected ':' after a key";
        }

        if (message.Contains("invalid start of a property name", StringComparison.Ordinal))
        {
            return "expected a key in double quotes";
        }

        if (message.Contains("trailing comma", StringComparison.Ordinal))
        {
            return "a comma before '}' or ']' (trailing commas are not JSON)";
        }

        if (message.Contains("invalid start of a value", StringComparison.Ordinal) || message.Contains("Expected a value", StringComparison.Ordinal))
        {
            return "expected a value";
        }

        if (message.Contains("Expected end of data", StringComparison.Ordinal) || message.Contains("after a single JSON value", StringComparison.Ordinal))
        {
            return form == JsonForm.Lines ? "expected the end of the line after the record" : "expected the end of the document";
        }

        if (message.Contains("Expected depth to be zero", StringComparison.Ordinal) || message.Contains("reached end of data", StringComparison.Ordinal))
        {
            return form == JsonForm.Lines
                ? "the line ends before the record does (JSON Lines hold one record per line; for one document holding its records under a key, set json.records)"
                : "the document ends before it is closed";
        }

        if (message.Contains("invalid JSON literal", StringComparison.Ordinal))
        {
            return "expected true, false or null";
        }

        if (message.Contains("maximum allowed depth", StringComparison.Ordinal))
        {
            return "nested deeper than 64 levels";
        }

        return message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..].TrimEnd('.') : "invalid JSON";
    }
}
