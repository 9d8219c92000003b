using System.Text.Json;
using EtlStream.Memory;

namespace EtlStream.Formats.Json;

/// <summary>The field side: one walk of a record's tokens, noting where each wanted path's value is.</summary>
internal sealed partial class JsonRecordReader
{
    private SlotValue[] _slots = [];
    private int _generation;
    private byte[] _scratch = [];
    private int _scratchLength;
    private bool _discovering;
    private long _recordLine;

    /// <summary>Where a column's value is in this record: in the record itself or (unescaped) in the scratch buffer; Length -1 is null.</summary>
    private struct SlotValue
    {
        public int Generation;
        public int Priority;
        public int Start;
        public int Length;
        public bool InScratch;
    }

    private void Walk(ReadOnlySpan<byte> record)
    {
        _generation++;
        _scratchLength = 0;
        var reader = new Utf8JsonReader(record, ReaderOptions);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new RecordShapeException($"a record is an object ('{{'), not {Describe(reader.TokenType)}");
        }

        WalkObject(ref reader, _root, covered: false);
        if (reader.Read())
        {
            throw new RecordShapeException($"invalid JSON at byte {reader.TokenStartIndex + 1}: expected the end of the line after the record");
        }
    }

    private void WalkObject(ref Utf8JsonReader reader, JsonFieldNode node, bool covered)
    {
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return;
            }

            JsonFieldNode? child;
            if (!reader.ValueIsEscaped)
            {
                child = node.Key(reader.ValueSpan);
            }
            else
            {
                var name = UnescapedName(ref reader);
                child = node.Key(name);
            }

            if (child is null)
            {
                if (covered || node.InArray)
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                // A key no column reads: a column of its own while sampling, else reported once.
                child = node.AddKey(reader.ValueIsEscaped ? UnescapedName(ref reader).ToArray() : reader.ValueSpan.ToArray());
                if (!_discovering)
                {
                    child.Ignored = true;
                    NewKeyAfterSample(child);
                }
            }

            reader.Read();
            if (child.Ignored)
            {
                reader.Skip();
                continue;
            }

            Value(ref reader, child, covered);
        }
    }

    private void WalkArray(ref Utf8JsonReader reader, JsonFieldNode node, bool covered)
    {
        var index = 0;
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return;
            }

            if (node.Item(index++) is { } child)
            {
                Value(ref reader, child, covered);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private void Value(ref Utf8JsonReader reader, JsonFieldNode node, bool covered)
    {
        var type = reader.TokenType;
        // null where the sample has seen an object is no leaf of its own: only an absent object.
        if (_discovering && !covered && !node.InArray && !node.IsColumn && type != JsonTokenType.StartObject && !(type == JsonTokenType.Null && node.HasChildren))
        {
            node.Slot = AddExtra(node); // a leaf of the sample: a scalar, an array (kept whole) or null
        }

        switch (type)
        {
            case JsonTokenType.StartObject:
            case JsonTokenType.StartArray:
                var start = (int)reader.TokenStartIndex;
                var descend = node.HasChildren || (_discovering && !covered && !node.InArray);
                if (descend && type == JsonTokenType.StartObject)
                {
                    WalkObject(ref reader, node, covered || node.IsColumn);
                }
                else if (descend && node.HasChildren)
                {
                    WalkArray(ref reader, node, covered || node.IsColumn);
                }
                else
                {
                    reader.Skip();
                }

                if (node.IsColumn)
                {
                    Set(node, start, (int)reader.BytesConsumed - start, inScratch: false);
                }

                break;
            case JsonTokenType.String:
                if (!node.IsColumn)
                {
                    break;
                }

                if (!reader.ValueIsEscaped)
                {
                    Set(node, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, inScratch: false);
                }
                else
                {
                    EnsureScratch(reader.ValueSpan.Length);
                    var n = reader.CopyString(_scratch.AsSpan(_scratchLength));
                    Set(node, _scratchLength, n, inScratch: true);
                    _scratchLength += n;
                }

                break;
            case JsonTokenType.Null:
                if (node.IsColumn)
                {
                    Set(node, 0, -1, inScratch: false);
                }

                break;
            default: // a number as written, true, false
                if (node.IsColumn)
                {
                    Set(node, (int)reader.TokenStartIndex, reader.ValueSpan.Length, inScratch: false);
                }

                break;
        }
    }

    /// <summary>The exact path's column always takes the value; a flattened name's only when the exact key was not in the record.</summary>
    private void Set(JsonFieldNode node, int start, int length, bool inScratch)
    {
        if (node.Slot >= 0)
        {
            _slots[node.Slot] = new SlotValue { Generation = _generation, Priority = 2, Start = start, Length = length, InScratch = inScratch };
        }

        if (node.AliasSlot >= 0)
        {
            ref var slot = ref _slots[node.AliasSlot];
            if (slot.Generation != _generation || slot.Priority < 2)
            {
                slot = new SlotValue { Generation = _generation, Priority = 1, Start = start, Length = length, InScratch = inScratch };
            }
        }
    }

    private ReadOnlySpan<byte> UnescapedName(ref Utf8JsonReader reader)
    {
        EnsureScratch(reader.ValueSpan.Length);
        var n = reader.CopyString(_scratch.AsSpan(_scratchLength));
        return _scratch.AsSpan(_scratchLength, n); // not kept: the next name or value overwrites it
    }

    private void EnsureScratch(int bytes)
    {
        if (_scratchLength + bytes <= _scratch.Length)
        {
            return;
        }

        var bigger = BufferPool.Rent(Math.Max(4096, (_scratchLength + bytes) * 2));
        _scratch.AsSpan(0, _scratchLength).CopyTo(bigger);
        if (_scratch.Length > 0)
        {
            BufferPool.Return(_scratch);
        }

        _scratch = bigger;
    }
}

/// <summary>Finds, on the error path only, whether malformed JSON broke off inside an object ('}') or an array (']').</summary>
internal static class JsonContainer
{
    public static char At(ReadOnlySpan<byte> json, bool isFinalBlock)
    {
        var open = new Stack<char>();
        var reader = new Utf8JsonReader(json, isFinalBlock, default);
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        open.Push('}');
                        break;
                    case JsonTokenType.StartArray:
                        open.Push(']');
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.TryPop(out _);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // where it breaks off: the innermost container still open is the one the error is in
        }

        return open.TryPeek(out var c) ? c : ' ';
    }
}

/// <summary>A record that is valid JSON but no object (or is followed by more on its line).</summary>
internal sealed class RecordShapeException(string message) : Exception(message);
