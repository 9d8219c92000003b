using System.Text.Json;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The JSON a Stream Load, transaction or <c>get_load_state</c> request answers with. Field names are matched
/// case-insensitively and unknown fields ignored (StarRocks and Doris versions differ in both).
/// </summary>
internal sealed record StreamLoadResponse
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString,
    };

    public long TxnId { get; init; }

    public string? Label { get; init; }

    public string? Status { get; init; }

    public string? ExistingJobStatus { get; init; }

    public string? Message { get; init; }

    /// <summary>Doris and older StarRocks versions say <c>msg</c>.</summary>
    public string? Msg { get; init; }

    /// <summary><c>get_load_state</c>: the label's state (StarRocks <c>State</c>; Doris puts it in <c>data</c>).</summary>
    public string? State { get; init; }

    public JsonElement Data { get; init; }

    public long NumberTotalRows { get; init; }

    public long NumberLoadedRows { get; init; }

    public long NumberFilteredRows { get; init; }

    public long NumberUnselectedRows { get; init; }

    public long LoadBytes { get; init; }

    public long LoadTimeMs { get; init; }

    public string? ErrorURL { get; init; }

    /// <summary>The message, whichever field carried it.</summary>
    public string Text => Message ?? Msg ?? string.Empty;

    /// <summary>The label state of a <c>get_load_state</c> reply, upper case, or null when it carries none.</summary>
    public string? LabelState =>
        (State ?? (Data.ValueKind == JsonValueKind.String ? Data.GetString() : null))?.ToUpperInvariant();

    /// <summary>Parses a reply body; null when it is not a JSON object (the caller treats that as an unknown outcome).</summary>
    public static StreamLoadResponse? TryParse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? doc.RootElement.Deserialize<StreamLoadResponse>(Json)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
