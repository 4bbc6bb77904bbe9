<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gracias — Example Co.</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/site.css">
</head>
<body>
<header class="top"><div class="wrap"><a class="brand" href="/">Example<span>Co.</span></a></div></header>
<main class="wrap page">
<section class="card">
  <!-- One variant per language (thanks.html.es), picked by Apache as for
       error.html. The fragment of the form's success URL (#demo, #newsletter,
       #webinar) shows that form's sentence (CSS :target): no script needed. -->
  <h1>Gracias</h1>
  <p class="for-form" id="demo">Hemos recibido su solicitud de demo y nos pondremos en contacto en un día laborable.</p>
  <p class="for-form" id="newsletter">Ya está en la lista: las próximas notas mensuales llegarán a su bandeja de entrada.</p>
  <p class="for-form" id="webinar">Su plaza está reservada: le enviaremos el enlace el día antes del webinar.</p>
  <p class="for-none">Hemos recibido sus datos y nos pondremos en contacto con usted.</p>
  <p><a href="/">Volver a la página de inicio</a></p>
</section>
</main>
</body>
</html>
