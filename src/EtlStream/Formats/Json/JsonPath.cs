using System.Text;

namespace EtlStream.Formats.Json;

/// <summary>One step of a <see cref="JsonPath"/>: an object key, or (<see cref="Key"/> null) an array index.</summary>
internal readonly record struct JsonPathStep(string? Key, int Index);

/// <summary>
/// The path a column reads inside a record: keys separated by dots (<c>dealer.code</c>), array elements by index
/// (<c>geometry.coordinates[0]</c>), and a key that itself holds a dot or bracket in brackets and quotes
/// (<c>properties['a.b']</c> or <c>properties["a.b"]</c>; a quote inside is doubled). Keys match exactly (case too).
/// </summary>
internal static class JsonPath
{
    /// <summary>Separates the levels of a flattened name (<c>dealer__code</c>, dlt's convention).</summary>
    public const string FlattenSeparator = "__";

    public static bool TryParse(string text, out JsonPathStep[] steps, out string? error)
    {
        var list = new List<JsonPathStep>();
        steps = [];
        error = null;
        var i = 0;
        var expectKey = true;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '[')
            {
                var close = i + 1;
                if (close < text.Length && text[close] is '\'' or '"')
                {
                    var quote = text[close];
                    var key = new StringBuilder();
                    var j = close + 1;
                    while (true)
                    {
                        if (j >= text.Length)
                        {
                            error = $"the quote at character {close + 1} is never closed";
                            return false;
                        }

                        if (text[j] == quote)
                        {
                            if (j + 1 < text.Length && text[j + 1] == quote)
                            {
                                key.Append(quote);
                                j += 2;
                                continue;
                            }

                            break;
                        }

                        key.Append(text[j++]);
                    }

                    if (j + 1 >= text.Length || text[j + 1] != ']')
                    {
                        error = $"expected ']' at character {j + 2}";
                        return false;
                    }

                    list.Add(new JsonPathStep(key.ToString(), 0));
                    i = j + 2;
                }
                else
                {
                    var end = text.IndexOf(']', close);
                    if (end < 0 || !int.TryParse(text.AsSpan(close, end - close), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                    {
                        error = $"expected an array index ([0]) or a quoted key (['a.b']) at character {i + 1}";
                        return false;
                    }

                    list.Add(new JsonPathStep(null, index));
                    i = end + 1;
                }

                expectKey = false;
                if (i < text.Length && text[i] == '.')
                {
                    i++;
                    expectKey = true;
                    if (i >= text.Length)
                    {
                        error = "the path ends with '.'";
                        return false;
                    }
                }
                else if (i < text.Length && text[i] != '[')
                {
                    error = $"expected '.' or '[' at character {i + 1}";
                    return false;
                }

                continue;
            }

            if (!expectKey)
            {
                error = $"expected '.' or '[' at character {i + 1}";
                return false;
            }

            var stop = text.AsSpan(i).IndexOfAny('.', '[');
            var length = stop < 0 ? text.Length - i : stop;
            if (length == 0)
            {
                error = $"an empty key at character {i + 1} (a key holding '.' is written ['a.b'])";
                return false;
            }

            list.Add(new JsonPathStep(text.Substring(i, length), 0));
            i += length;
            if (i < text.Length && text[i] == '.')
            {
                i++;
                if (i >= text.Length)
                {
                    error = "the path ends with '.'";
                    return false;
                }
            }
            else
            {
                expectKey = false;
            }
        }

        if (list.Count == 0)
        {
            error = "the path is empty";
            return false;
        }

        steps = [.. list];
        return true;
    }

    /// <summary>The flattened name of a key path: its keys joined with <c>__</c> (<c>dealer__code</c>).</summary>
    public static string Flatten(IReadOnlyList<string> keys) => string.Join(FlattenSeparator, keys);
}
