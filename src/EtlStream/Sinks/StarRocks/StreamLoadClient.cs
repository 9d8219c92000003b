using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace EtlStream.Sinks.StarRocks;

/// <summary>A reply, or why there was none (then the outcome of the request is unknown).</summary>
public readonly record struct StreamLoadReply(int? Status, string? Body, string? TransportError = null);

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
            ConnectTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 256,
            UseCookies = false,
            UseProxy = false,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.User}:{options.Password}")));
    }

    /// <summary>
    /// Sends one request (following redirects) and reads the whole reply. A reset, a refused connection or no reply
    /// within <see cref="StarRocksSinkOptions.RequestTimeout"/> is a reply without status; the caller's cancellation throws.
    /// </summary>
    public async Task<StreamLoadReply> SendAsync(
        HttpMethod method, string pathAndQuery, IReadOnlyList<KeyValuePair<string, string>> headers, ArraySegment<byte>? body, bool toBackend, CancellationToken cancellationToken)
    {
        var uri = new Uri(toBackend && _options.BackendAddress is { } be ? BackendUri(be) : _options.FrontendUri, pathAndQuery);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            for (var hop = 0; ; hop++)
            {
                using var request = new HttpRequestMessage(method, uri);
                request.Headers.Authorization = _auth;

                // A connection the FE may close after its 307 is not one to keep in the pool.
                request.Headers.ConnectionClose = hop == 0 && !(toBackend && _options.BackendAddress is not null);
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                if (method != HttpMethod.Get)
                {
                    request.Headers.ExpectContinue = true;
                    request.Content = body is { } b ? new ByteArrayContent(b.Array!, b.Offset, b.Count) : new ByteArrayContent([]);
                }

                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect or HttpStatusCode.Found or HttpStatusCode.MovedPermanently)
                {
                    if (hop == MaxRedirects || response.Headers.Location is not { } location)
                    {
                        return new StreamLoadReply((int)response.StatusCode, null, "redirect without a usable Location");
                    }

                    uri = Redirected(uri, location);
                    continue;
                }

                var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                return new StreamLoadReply((int)response.StatusCode, text);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new StreamLoadReply(null, null, $"no reply within {_options.RequestTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return new StreamLoadReply(null, null, Describe(e));
        }
        catch (IOException e)
        {
            return new StreamLoadReply(null, null, e.Message);
        }
    }

    /// <summary>Fetches a load's error log (the rows the server filtered): one line per row.</summary>
    public async Task<string?> GetTextAsync(string url, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        if (_options.BackendAddress is not null)
        {
            uri = Redirected(uri, uri); // the error URL names the BE as the cluster sees it
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = _auth;
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false) : null;
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

    private static string Describe(HttpRequestException e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text += " → " + inner.Message;
        }

        return text;
    }
}
