using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace EtlStream.Sinks.StarRocks;

/// <summary>A reply, or why there was none (then the outcome of the request is unknown).</summary>
internal readonly record struct StreamLoadReply(int? Status, string? Body, string? TransportError = null);

/// <summary>
/// HTTP to a StarRocks/Doris FE and its BEs. Redirects are followed by hand: .NET drops <c>Authorization</c> on an
/// automatic redirect, and the FE may close its connection after the 307, so the whole request (headers, auth and
/// the buffered body) is sent again to the <c>Location</c>, on a connection of its own.
/// </summary>
internal sealed class StreamLoadClient : IDisposable
{
    private const int MaxRedirects = 3;
    private readonly StarRocksSinkOptions _options;
    private readonly HttpClient _http;
    private readonly AuthenticationHeaderValue _auth;

    public StreamLoadClient(StarRocksSinkOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            Expect100ContinueTimeout = options.Expect100ContinueTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = options.ConnectTimeout,
            MaxConnectionsPerServer = 256,
            UseCookies = false,
            UseProxy = false,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.User}:{options.Password}")));
    }

    /// <summary>
    /// Sends one request (following redirects) and reads the whole reply. A reset, a refused connection or a wait
    /// longer than <see cref="StarRocksSinkOptions.RequestTimeout"/> (for the reply, or for the server to take the
    /// next slice of the body) is a reply without status, whose error names the server and what it was doing
    /// (<paramref name="doing"/>, "loading"); the caller's cancellation throws.
    /// </summary>
    public async Task<StreamLoadReply> SendAsync(
        HttpMethod method, string pathAndQuery, IReadOnlyList<KeyValuePair<string, string>> headers, ArraySegment<byte>? body, bool toBackend, string doing, CancellationToken cancellationToken)
    {
        var direct = toBackend && _options.BackendAddress is not null;
        var uri = new Uri(direct ? BackendUri(_options.BackendAddress!) : _options.FrontendUri, pathAndQuery);
        var backend = direct;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            for (var hop = 0; ; hop++)
            {
                deadline.CancelAfter(_options.RequestTimeout);
                using var request = new HttpRequestMessage(method, uri);
                request.Headers.Authorization = _auth;

                // A connection the FE may close after its 307 is not one to keep in the pool.
                request.Headers.ConnectionClose = hop == 0 && !direct;
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                if (method != HttpMethod.Get)
                {
                    request.Headers.ExpectContinue = true;
                    request.Content = new PacedContent(body ?? new ArraySegment<byte>([]), deadline, _options.RequestTimeout);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect or HttpStatusCode.Found or HttpStatusCode.MovedPermanently)
                {
                    if (hop == MaxRedirects || response.Headers.Location is not { } location)
                    {
                        return new StreamLoadReply((int)response.StatusCode, null, $"{Name(uri, backend)}: redirect without a usable Location");
                    }

                    uri = Redirected(uri, location);
                    backend = true; // an FE redirects a load to a BE
                    continue;
                }

                var text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
                return new StreamLoadReply((int)response.StatusCode, text);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && Failure(e, uri, backend, doing) is { } error)
        {
            return new StreamLoadReply(null, null, error);
        }
    }

    /// <summary>
    /// Asks the FE anything (<c>GET /api/health</c>) within <see cref="StarRocksSinkOptions.ConnectTimeout"/>: any HTTP
    /// answer, even 404 or 401, shows a server that talks; none fails the run before a transaction is begun.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(_options.FrontendUri, "/api/health");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.ConnectTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = _auth;
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is OperationCanceledException)
        {
            throw new TimeoutException(ConnectTimedOut(uri, backend: false), e);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException)
        {
            throw new IOException($"{Name(uri, backend: false)}: cannot connect as {_options.User}: {Describe(e)}", e);
        }
    }

    /// <summary>Fetches a load's error log (the rows the server filtered): one line per row; null when it cannot be read.</summary>
    public async Task<string?> GetTextAsync(string url, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        if (_options.BackendAddress is not null)
        {
            uri = Redirected(uri, uri); // the error URL names the BE as the cluster sees it
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = _auth;
            using var response = await _http.SendAsync(request, deadline.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false) : null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null; // the rejects are a report; the load's outcome does not depend on them
        }
    }

    public void Dispose() => _http.Dispose();

    private Uri Redirected(Uri from, Uri location)
    {
        var target = location.IsAbsoluteUri ? location : new Uri(from, location);
        if (_options.BackendAddress is { } be)
        {
            // The FE names the BE by the address it knows; the operator told us the one we can reach.
            StarRocksSinkOptions.TrySplitHostPort(be, out var host, out var port);
            target = new UriBuilder(target) { Host = host, Port = port, Scheme = _options.UseTls ? "https" : "http" }.Uri;
        }

        return target;
    }

    private Uri BackendUri(string be)
    {
        StarRocksSinkOptions.TrySplitHostPort(be, out var host, out var port);
        return new UriBuilder(_options.UseTls ? "https" : "http", host, port).Uri;
    }

    /// <summary>What a request that got no reply ran into, naming the server; null for what is not a transport failure.</summary>
    private string? Failure(Exception e, Uri uri, bool backend, string doing) => e switch
    {
        // SocketsHttpHandler's own connect timeout: a TaskCanceledException around a TimeoutException.
        OperationCanceledException { InnerException: TimeoutException } => ConnectTimedOut(uri, backend),
        OperationCanceledException => string.Create(CultureInfo.InvariantCulture,
            $"{Name(uri, backend)}: no answer within {StarRocksSinkOptions.Seconds(_options.RequestTimeout)} s while {doing} (timeout={StarRocksSinkOptions.Seconds(_options.RequestTimeout)})"),
        HttpRequestException { InnerException: OperationCanceledException { InnerException: TimeoutException } } => ConnectTimedOut(uri, backend),
        HttpRequestException or IOException => $"{Name(uri, backend)}: {Describe(e)}",
        _ => null,
    };

    private string ConnectTimedOut(Uri uri, bool backend) => string.Create(CultureInfo.InvariantCulture,
        $"{Name(uri, backend)}: no answer within {StarRocksSinkOptions.Seconds(_options.ConnectTimeout)} s while connecting (connect_timeout={StarRocksSinkOptions.Seconds(_options.ConnectTimeout)})");

    private string Name(Uri uri, bool backend) => backend ? _options.BackendName(uri.Host, uri.Port) : _options.FrontendName;

    private static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text += " → " + inner.Message;
        }

        return text;
    }
}

/// <summary>
/// A request body written in slices, each one that the server takes pushing the request's deadline back by the
/// timeout, and the last one giving the reply a whole timeout of its own: a large body that moves is never cut off,
/// and a server that stops reading it, or never answers once it has it all, is noticed within the timeout.
/// Buffered, so a redirect or a retry sends it again.
/// </summary>
internal sealed class PacedContent : HttpContent
{
    private const int Slice = 64 * 1024;
    private readonly ArraySegment<byte> _body;
    private readonly CancellationTokenSource _deadline;
    private readonly TimeSpan _timeout;

    public PacedContent(ArraySegment<byte> body, CancellationTokenSource deadline, TimeSpan timeout)
    {
        _body = body;
        _deadline = deadline;
        _timeout = timeout;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < _body.Count; offset += Slice)
        {
            await stream.WriteAsync(_body.AsMemory(offset, Math.Min(Slice, _body.Count - offset)), cancellationToken).ConfigureAwait(false);
            Extend();
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        Extend();
    }

    private void Extend()
    {
        try
        {
            _deadline.CancelAfter(_timeout);
        }
        catch (ObjectDisposedException)
        {
            // the reply came before the body was all sent, and its request is over
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Count;
        return true;
    }
}
