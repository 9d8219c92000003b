using System.Text;
using System.Text.Json;
using EtlStream.Memory;

namespace EtlStream.Formats.Json;

/// <summary>The input side: the pooled buffer, how records are framed in each form, the sample's rewind.</summary>
internal sealed partial class JsonRecordReader
{
    private const int InitialBufferBytes = 1024 * 1024;

    /// <summary>How much of a record too long to load is kept as its raw text in the rejects file.</summary>
    private const int TooLongPreviewBytes = 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    private readonly Stream _stream;
    private readonly int _growLimit;

    private byte[] _buffer;
    private int _pos;
    private int _end;
    private bool _eof;
    private long _bufferOffset;
    private long _line = 1;
    private JsonForm _mode;
    private bool _finished;

    // A document's reader state at _pos: records of an array are framed one at a time across buffer refills.
    private JsonReaderState _state = new(ReaderOptions);

    // The record Frame found, taken by Accept.
    private long _frameLine;
    private int _nextPos;
    private long _nextLine;
    private JsonReaderState _nextState;

    // While sampling, bytes from the first sampled record are kept: the batches read them again.
    private bool _sampling;
    private int _sampleStart;
    private long _sampleLine;
    private JsonReaderState _sampleState;

    private enum FrameStatus
    {
        Record,
        NeedMore,
        End,
        TooLong,
    }

    private enum TokenStatus
    {
        Token,
        NeedMore,
        End,
    }

    /// <summary>Finds the form from the first non-blank byte, and in a document the records array; false for an entry with nothing in it.</summary>
    private async ValueTask<bool> DetectAsync(CancellationToken cancellationToken)
    {
        while (_end < 3 && !_eof)
        {
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_buffer.AsSpan(0, _end).StartsWith("\uFEFF"u8))
        {
            _pos = 3;
        }

        var first = -1;
        while (true)
        {
            var i = _buffer.AsSpan(_pos, _end - _pos).IndexOfAnyExcept(" \t\r\n"u8);
            if (i >= 0)
            {
                first = _pos + i;
                break;
            }

            if (_eof)
            {
                return false;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }

        var head = _buffer.AsSpan(_pos, first - _pos);
        var line = 1 + head.Count((byte)'\n');
        var column = first - _pos - (head.LastIndexOf((byte)'\n') + 1) + 1;
        var b = _buffer[first];
        if (_options.Records is { } records)
        {
            if (b != (byte)'{')
            {
                throw new JsonFormatException(_source, line, $"invalid JSON at byte {column}: expected '{{': json.records ('{records}') reads the records under a key of one object");
            }

            _mode = JsonForm.Records;
            await FindRecordsAsync(records, cancellationToken).ConfigureAwait(false);
        }
        else if (b == (byte)'{')
        {
            _mode = JsonForm.Lines;
        }
        else if (b == (byte)'[')
        {
            _mode = JsonForm.Array;
            await TokenAsync(skip: false, default, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new JsonFormatException(_source, line, $"invalid JSON at byte {column}: expected '{{' (JSON Lines) or '[' (an array of records), found '{(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"0x{b:X2}")}'");
        }

        return true;
    }

    /// <summary>Walks a document's keys to the array <paramref name="records"/> names (json.records), skipping every other value.</summary>
    private async ValueTask FindRecordsAsync(string records, CancellationToken cancellationToken)
    {
        JsonPath.TryParse(records, out var steps, out _);
        await TokenAsync(skip: false, default, cancellationToken).ConfigureAwait(false); // the root '{'
        var level = 0;
        while (true)
        {
            var key = Encoding.UTF8.GetBytes(steps[level].Key!);
            var (type, matches) = await TokenAsync(skip: false, key, cancellationToken).ConfigureAwait(false);
            if (type != JsonTokenType.PropertyName)
            {
                throw new JsonFormatException(_source, _line, $"json.records: the document has no key '{records}'");
            }

            if (!matches)
            {
                await TokenAsync(skip: true, default, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var (value, _) = await TokenAsync(skip: false, default, cancellationToken).ConfigureAwait(false);
            var last = level == steps.Length - 1;
            if (value != (last ? JsonTokenType.StartArray : JsonTokenType.StartObject))
            {
                throw new JsonFormatException(_source, _line, $"json.records: '{JsonPath.Flatten([.. steps[..(level + 1)].Select(s => s.Key!)]).Replace(JsonPath.FlattenSeparator, ".", StringComparison.Ordinal)}' holds {Describe(value)}, not {(last ? "an array of records" : "an object")}");
            }

            if (last)
            {
                return;
            }

            level++;
        }
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    private async ValueTask<(JsonTokenType Type, bool Matches)> TokenAsync(bool skip, byte[]? key, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = TryToken(skip, key, out var type, out var matches);
            if (status == TokenStatus.Token)
            {
                return (type, matches);
            }

            if (status == TokenStatus.End)
            {
                throw new JsonFormatException(_source, _line, "the document ends before its records");
            }

            await MoreAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One token of a document (with its whole value when <paramref name="skip"/>), consumed.</summary>
    private TokenStatus TryToken(bool skip, ReadOnlySpan<byte> key, out JsonTokenType type, out bool matches)
    {
        type = JsonTokenType.None;
        matches = false;
        var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), _eof, _state);
        try
        {
            if (!reader.Read())
            {
                return _eof ? TokenStatus.End : TokenStatus.NeedMore;
            }

            type = reader.TokenType;
            matches = type == JsonTokenType.PropertyName && reader.ValueTextEquals(key);
            if (skip && type is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            {
                return TokenStatus.NeedMore;
            }
        }
        catch (JsonException e)
        {
            throw Malformed(e, ' ');
        }

        var consumed = (int)reader.BytesConsumed;
        _line += _buffer.AsSpan(_pos, consumed).Count((byte)'\n');
        _pos += consumed;
        _state = reader.CurrentState;
        return TokenStatus.Token;
    }

    /// <summary>After a document's records: the rest must be well-formed JSON to its end (a cut file fails, not loads short).</summary>
    private async ValueTask FinishDocumentAsync(CancellationToken cancellationToken)
    {
        if (_mode == JsonForm.Lines)
        {
            return;
        }

        while (true)
        {
            var status = TryToken(skip: true, default, out _, out _);
            if (status == TokenStatus.End)
            {
                _pos = _end; // what is left is white space
                return;
            }

            if (status == TokenStatus.NeedMore)
            {
                await MoreAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Finds the next record without consuming it (<see cref="Accept"/> does); <paramref name="start"/> is where it begins.</summary>
    private FrameStatus Frame(out int start, out int length) =>
        _mode == JsonForm.Lines ? FrameLine(out start, out length) : FrameElement(out start, out length);

    private FrameStatus FrameLine(out int start, out int length)
    {
        while (true)
        {
            start = _pos;
            length = 0;
            _frameLine = _line;
            var span = _buffer.AsSpan(_pos, _end - _pos);
            if (span.IsEmpty)
            {
                return _eof ? FrameStatus.End : FrameStatus.NeedMore;
            }

            var nl = span.IndexOf((byte)'\n');
            int len;
            int next;
            if (nl < 0)
            {
                if (!_eof)
                {
                    return span.Length > _options.MaxRecordBytes ? FrameStatus.TooLong : FrameStatus.NeedMore;
                }

                len = next = span.Length;
            }
            else
            {
                len = nl;
                next = nl + 1;
            }

            var line = span[..len];
            if (line.IndexOfAnyExcept(" \t\r"u8) < 0)
            {
                _pos += next; // a blank line holds no record
                _line++;
                continue;
            }

            if (line[^1] == (byte)'\r')
            {
                len--;
            }

            if (len > _options.MaxRecordBytes)
            {
                return FrameStatus.TooLong;
            }

            length = len;
            _nextPos = _pos + next;
            _nextLine = _line + 1;
            return FrameStatus.Record;
        }
    }

    private FrameStatus FrameElement(out int start, out int length)
    {
        start = _pos;
        length = 0;
        _frameLine = _line;
        var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), _eof, _state);
        try
        {
            if (!reader.Read())
            {
                return _eof ? throw new JsonFormatException(_source, _line, "the document ends inside its records array") : FrameStatus.NeedMore;
            }

            if (reader.TokenType == JsonTokenType.EndArray)
            {
                _line += _buffer.AsSpan(_pos, (int)reader.BytesConsumed).Count((byte)'\n');
                _pos += (int)reader.BytesConsumed;
                _state = reader.CurrentState;
                return FrameStatus.End;
            }

            var s = (int)reader.TokenStartIndex;
            start = _pos + s;
            _frameLine = _line + _buffer.AsSpan(_pos, s).Count((byte)'\n');
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            {
                return _end - start > _options.MaxRecordBytes ? FrameStatus.TooLong : FrameStatus.NeedMore;
            }

            var e = (int)reader.BytesConsumed;
            length = e - s;
            if (length > _options.MaxRecordBytes)
            {
                return FrameStatus.TooLong;
            }

            _nextPos = _pos + e;
            _nextLine = _frameLine + _buffer.AsSpan(start, length).Count((byte)'\n');
            _nextState = reader.CurrentState;
            return FrameStatus.Record;
        }
        catch (JsonException e)
        {
            throw Malformed(e, JsonContainer.At(_buffer.AsSpan(start, _end - start), _eof));
        }
    }

    /// <summary>Takes the record <see cref="Frame"/> found.</summary>
    private void Accept()
    {
        _pos = _nextPos;
        _line = _nextLine;
        if (_mode != JsonForm.Lines)
        {
            _state = _nextState;
        }
    }

    /// <summary>Malformed JSON in a document: nothing after it can be framed, so the file fails whatever on_error says.</summary>
    private JsonFormatException Malformed(JsonException e, char container) =>
        new(_source, (e.LineNumber ?? 0) + 1, $"invalid JSON at byte {(e.BytePositionInLine ?? 0) + 1}: {JsonErrors.Reason(e, container, _mode)}");

    private JsonFormatException TooLong(long line) =>
        new(_source, line, $"record is longer than json.max_record_bytes ({_options.MaxRecordBytes:N0} bytes)");

    /// <summary>
    /// A JSON Lines record over max_record_bytes: under reject_row (or null_value) its line is skipped without being
    /// held, and rejected with its first bytes as raw text; in a document, or under fail_file, the file fails.
    /// </summary>
    private async ValueTask RejectTooLongAsync(int start, CancellationToken cancellationToken)
    {
        var line = _frameLine;
        if (_mode != JsonForm.Lines || _spec.OnError == Tables.OnError.FailFile)
        {
            throw TooLong(line);
        }

        var preview = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_buffer.AsSpan(start, Math.Min(TooLongPreviewBytes, _end - start))) + "…");
        _pos = start;
        while (true)
        {
            var nl = _buffer.AsSpan(_pos, _end - _pos).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                _pos += nl + 1;
                break;
            }

            _pos = _end;
            if (_eof)
            {
                break;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }

        _line++;
        var row = _rows;
        Broken(row, TooLong(line).Reason, preview);
        _lines[row] = line;
        _rows++;
    }

    private ValueTask MoreAsync(CancellationToken cancellationToken) => FillAsync(cancellationToken);

    /// <summary>Moves the bytes still needed to the front, grows the buffer when they fill it, and reads more.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return;
        }

        var keep = _sampling ? _sampleStart : _pos;
        if (keep > 0)
        {
            Buffer.BlockCopy(_buffer, keep, _buffer, 0, _end - keep);
            _end -= keep;
            _pos -= keep;
            _bufferOffset += keep;
            if (_sampling)
            {
                _sampleStart = 0;
            }
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _growLimit)
            {
                throw TooLong(_line);
            }

            var bigger = BufferPool.Rent((int)Math.Min((long)_buffer.Length * 2, _growLimit));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            BufferPool.Return(_buffer);
            _buffer = bigger;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private void BeginSample()
    {
        _sampling = true;
        _sampleStart = _pos;
        _sampleLine = _line;
        _sampleState = _state;
    }

    private void EndSample()
    {
        _sampling = false;
        _pos = _sampleStart;
        _line = _sampleLine;
        _state = _sampleState;
    }
}

/// <summary>How an entry's records are laid out.</summary>
internal enum JsonForm
{
    /// <summary>JSON Lines: one object per line.</summary>
    Lines,

    /// <summary>A top-level array of objects.</summary>
    Array,

    /// <summary>The array under json.records inside one object.</summary>
    Records,
}
